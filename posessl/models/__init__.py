"""Backbones, necks, heads, losses, data preprocessor and the models.

Importing this package registers every component in posessl's MODELS.
"""
from .backbones import TorchvisionResNet, TorchvisionVGG
from .data_preprocessor import PoseDataPreprocessor
from .heads import BasePoseHead, CosineContrastiveHead, PoseRegressionHead
from .losses import PoseLoss
from .necks import ProjectionNeck
from .pretrainer import ContrastivePretrainer
from .refiners import SilhouetteDepthRefiner
from .regressor import PoseRegressor
from .utils import infer_out_channels, pool_features

__all__ = [
    'TorchvisionResNet', 'TorchvisionVGG', 'PoseDataPreprocessor',
    'CosineContrastiveHead', 'BasePoseHead', 'PoseRegressionHead', 'PoseLoss',
    'ProjectionNeck', 'ContrastivePretrainer', 'PoseRegressor',
    'SilhouetteDepthRefiner',
    'pool_features', 'infer_out_channels'
]
