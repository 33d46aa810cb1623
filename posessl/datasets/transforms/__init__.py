"""Data transforms: loading, object-centred crops, augmentation, packing."""
from .background import MaskBackground
from .crop import MaskCenteredCrop
from .formatting import PackPoseInputs
from .loading import LoadImageAndMask, check_mask, read_mask, read_rgb
from .occlusion import RandomOcclusion
from .photometric import PhotometricAug

__all__ = [
    'check_mask',
    'LoadImageAndMask', 'MaskCenteredCrop',
    'MaskBackground', 'RandomOcclusion', 'PhotometricAug', 'PackPoseInputs',
    'read_rgb', 'read_mask'
]
