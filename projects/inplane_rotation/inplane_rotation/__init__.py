"""Turn an object crop about its centre's viewing ray, label and all.

Importing this package registers ``InPlaneRotation`` in posessl's
TRANSFORMS (a config does it with ``custom_imports``).
"""
from .transform import InPlaneRotation, view_ray_homography

__all__ = ['InPlaneRotation', 'view_ray_homography']
