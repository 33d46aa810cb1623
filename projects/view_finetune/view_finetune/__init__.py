"""The relative-viewpoint loss kept while fine-tuning the pose model.

Importing this package registers ``SemiSupervisedPoseRegressor`` in
posessl's MODELS and ``LabelledAnchorTripletSampler`` in its DATA_SAMPLERS
(a config does it with ``custom_imports``).
"""
from .regressor import SemiSupervisedPoseRegressor
from .sampler import LabelledAnchorTripletSampler

__all__ = ['LabelledAnchorTripletSampler', 'SemiSupervisedPoseRegressor']
