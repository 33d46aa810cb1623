"""A pose head that predicts 2D box keypoints and solves the pose with PnP.

Importing this package registers ``KeypointPnPHead`` in posessl's MODELS
(a config does it with ``custom_imports``).
"""
from .keypoint_head import KeypointPnPHead
from .keypoints import (
    NUM_BOX_KEYPOINTS,
    box_keypoints,
    crop_coords_to_pixels,
    pixels_to_crop_coords,
    solve_pnp,
)

__all__ = [
    'KeypointPnPHead', 'NUM_BOX_KEYPOINTS', 'box_keypoints',
    'pixels_to_crop_coords', 'crop_coords_to_pixels', 'solve_pnp'
]
