"""Synthetic LINEMOD: objects rendered along hand-held-like camera paths.

``generate_synthetic_linemod`` writes a LINEMOD-format set (BOP layout,
optionally DenseFusion's too) that the loaders read unchanged; camera paths
and lighting are in :mod:`.trajectory`, mesh builders in :mod:`.meshes`.
"""
from .generator import (
    LINEMOD_K,
    LINEMOD_SIZE,
    camera_matrix,
    generate_synthetic_linemod,
)
from .objects import SyntheticObject, make_object, make_objects
from .png import encode_png

__all__ = [
    'generate_synthetic_linemod', 'camera_matrix', 'LINEMOD_K',
    'LINEMOD_SIZE', 'SyntheticObject', 'make_object', 'make_objects',
    'encode_png'
]
