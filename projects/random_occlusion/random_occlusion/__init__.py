"""Random occlusion of training crops.

Importing this package registers ``RandomOcclusion`` in posessl's
TRANSFORMS (a config does it with ``custom_imports``).
"""
from .transform import RandomOcclusion, occlude

__all__ = ['RandomOcclusion', 'occlude']
