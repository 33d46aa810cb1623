"""Pose geometry shared by data, models and evaluation (units: mm, pixels).

Convention everywhere: ``x_cam = R @ x_model + t`` with ``t`` in millimetres.
"""
from .camera import crop_camera_matrix, project_points
from .rotation import (
    axis_angle_to_matrix,
    geodesic_distance,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    matrix_to_rot6d,
    quaternion_to_matrix,
    ray_rotation,
    rot6d_to_matrix,
    skew,
    svd_orthonormalize,
)
from .site import (
    DEFAULT_DEPTH_SCALE,
    crop_center_pixel,
    crop_center_ray,
    mask_area_reference,
    site_decode,
    site_encode,
)

__all__ = [
    'project_points', 'crop_camera_matrix', 'geodesic_distance',
    'rot6d_to_matrix', 'matrix_to_rot6d', 'quaternion_to_matrix',
    'matrix_to_quaternion', 'axis_angle_to_matrix', 'matrix_to_axis_angle',
    'svd_orthonormalize', 'skew', 'ray_rotation', 'DEFAULT_DEPTH_SCALE',
    'site_encode', 'site_decode', 'crop_center_pixel', 'crop_center_ray',
    'mask_area_reference'
]
