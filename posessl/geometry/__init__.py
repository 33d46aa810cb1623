"""Pose geometry shared by data, models and evaluation (units: mm, pixels).

Convention everywhere: ``x_cam = R @ x_model + t`` with ``t`` in millimetres.
"""
from .camera import crop_camera_matrix, project_points
from .crop import box_center, mask_box, warp_crop, window_origin
from .rotation import (
    axis_angle_to_matrix,
    axis_rotation,
    geodesic_distance,
    look_at_rotation,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    matrix_to_rot6d,
    quaternion_to_matrix,
    random_rotation,
    ray_rotation,
    rot6d_to_matrix,
    rotation_to,
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
    'project_points', 'crop_camera_matrix', 'box_center', 'mask_box',
    'window_origin', 'warp_crop', 'geodesic_distance', 'rot6d_to_matrix',
    'matrix_to_rot6d', 'quaternion_to_matrix', 'matrix_to_quaternion',
    'axis_angle_to_matrix', 'matrix_to_axis_angle', 'svd_orthonormalize',
    'skew', 'ray_rotation', 'axis_rotation', 'look_at_rotation',
    'rotation_to', 'random_rotation', 'DEFAULT_DEPTH_SCALE',
    'site_encode', 'site_decode', 'crop_center_pixel', 'crop_center_ray',
    'mask_area_reference'
]
