"""Pose geometry shared by data, models and evaluation (units: mm, pixels).

Convention everywhere: ``x_cam = R @ x_model + t`` with ``t`` in millimetres.
"""
from .camera import crop_camera_matrix, project_points
from .rotation import geodesic_distance

__all__ = ['project_points', 'crop_camera_matrix', 'geodesic_distance']
