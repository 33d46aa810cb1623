"""posessl: few-label 6-DoF object pose with self-supervised viewpoints.

Importing the package registers every component in the ``posessl`` scope and
allow-lists the globals that an MMEngine checkpoint needs for
``torch.load(weights_only=True)``.
"""
from . import datasets, engine, evaluation, models, visualization  # noqa: F401
from .engine.checkpoint_safety import install as _install_checkpoint_safety
from .version import __version__  # noqa: F401

_install_checkpoint_safety()
