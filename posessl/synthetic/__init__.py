"""Synthetic LINEMOD: procedural objects rendered along hand-held-like paths.

``generate_synthetic_linemod`` writes a LINEMOD-format data set (BOP layout,
optionally DenseFusion's too) that the loaders read unchanged; the demo,
tests and benchmarks run on it. Rendering uses moderngl on headless EGL.
"""
from .generator import (
    LINEMOD_K,
    LINEMOD_SIZE,
    camera_matrix,
    generate_synthetic_linemod,
)
from .objects import (
    SyntheticObject,
    make_object,
    make_objects,
    model_diameter,
)
from .png import encode_png
from .render import Renderer, projection_matrix
from .trajectory import (
    CameraPath,
    Lighting,
    camera_path,
    held_out_frames,
    lighting,
    randomised_lighting,
    recording_frames,
    recording_lighting,
    recording_path,
)

__all__ = [
    'generate_synthetic_linemod', 'camera_matrix', 'LINEMOD_K',
    'LINEMOD_SIZE', 'SyntheticObject', 'make_object', 'make_objects',
    'model_diameter', 'Renderer', 'projection_matrix', 'CameraPath',
    'Lighting', 'camera_path', 'lighting', 'randomised_lighting',
    'recording_path', 'recording_lighting', 'recording_frames',
    'held_out_frames', 'encode_png'
]
