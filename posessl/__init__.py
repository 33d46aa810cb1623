"""posessl: few-label 6-DoF object pose with self-supervised viewpoint learning.

Importing the package registers every component in the ``posessl`` scope and
allow-lists the globals that an MMEngine checkpoint needs for
``torch.load(weights_only=True)``.
"""
from .version import __version__  # noqa: F401
from .engine import checkpoint_safety as _checkpoint_safety

_checkpoint_safety.install()

from . import datasets, engine, evaluation, models, visualization  # noqa: E402,F401,E501
