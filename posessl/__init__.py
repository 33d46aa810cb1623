"""posessl: few-label 6-DoF object pose with self-supervised viewpoints.

Importing the package registers every component in the ``posessl`` scope and
changes no MMEngine or torch global (the tools call
:func:`posessl.engine.enable_checkpoint_safety` themselves).
"""
from .version import __version__  # noqa: F401


def _check_mmcv() -> None:
    """Raise one clear ImportError when no mmcv 2.x (lite or full) imports."""
    try:
        from mmcv.transforms import BaseTransform  # noqa: F401
    except ImportError as err:
        raise ImportError(
            'posessl needs mmcv 2.x, of which it uses only the pure-Python '
            "part: pip install 'posessl[lite]' (or 'mmcv-lite>=2.0'), or "
            f'keep the full mmcv 2.x you have ({err})') from None


_check_mmcv()

from . import datasets, engine, evaluation, models, visualization  # noqa: E402,F401,I001
