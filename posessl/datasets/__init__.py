"""Placeholder: filled by its issue."""
from . import samplers, transforms  # noqa: F401
