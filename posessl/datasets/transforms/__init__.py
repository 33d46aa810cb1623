"""Data transforms: loading, object-centred crops, augmentation, targets,
packing."""
from .background import MaskBackground
from .crop import MaskCenteredCrop
from .formatting import PackPoseInputs
from .loading import LoadImageAndMask, check_mask, read_mask, read_rgb
from .photometric import PhotometricAug
from .targets import GeneratePoseTarget

__all__ = [
    'check_mask',
    'LoadImageAndMask', 'MaskCenteredCrop',
    'MaskBackground', 'PhotometricAug', 'GeneratePoseTarget',
    'PackPoseInputs', 'read_rgb', 'read_mask'
]
