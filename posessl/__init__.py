"""posessl: few-label 6-DoF object pose with self-supervised viewpoints.

Importing the package registers every component in the ``posessl`` scope and
changes no MMEngine or torch global: the tools turn on safe checkpoint
loading explicitly with :func:`posessl.engine.enable_checkpoint_safety`.
"""
from . import datasets, engine, evaluation, models, visualization  # noqa: F401
from .version import __version__  # noqa: F401
