"""Runner-side pieces: checkpoint safety, hooks, loops and model wrappers."""
from . import checkpoint_safety  # noqa: F401
