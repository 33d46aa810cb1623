"""posessl: few-label 6-DoF object pose with self-supervised viewpoints.

Importing the package registers every component in the ``posessl`` scope and
changes no MMEngine or torch global: the tools turn on safe checkpoint
loading explicitly with :func:`posessl.engine.enable_checkpoint_safety`.
"""
from .version import __version__  # noqa: F401

#: What importing posessl without mmcv 2.x says (no install requirement
#: can ask for "mmcv-lite or the full mmcv": see setup.py).
MMCV_MISSING = ('posessl needs mmcv 2.x, of which it uses only the '
                "pure-Python part: pip install 'posessl[lite]' (or "
                "'mmcv-lite>=2.0'), or keep the full mmcv 2.x you have")


def _check_mmcv() -> None:
    """Raise one clear ImportError when no mmcv 2.x can be imported."""
    try:
        from mmcv.transforms import BaseTransform  # noqa: F401
    except ImportError as err:
        raise ImportError(f'{MMCV_MISSING} ({err})') from None


_check_mmcv()

from . import datasets, engine, evaluation, models, visualization  # noqa: E402,F401,I001
