"""Trained models outside the Runner: :class:`PoseInferencer` on images of
one's own, and builders of a model and data loaders from a config."""
from .builders import (
    build_dataset,
    build_inference_model,
    build_loader,
    load_weights,
    select_indices,
    unwrap_dataset_cfg,
)
from .inferencer import InferenceError, PoseInferencer, PosePrediction

__all__ = [
    'PoseInferencer', 'PosePrediction', 'InferenceError',
    'build_inference_model', 'load_weights', 'build_dataset', 'build_loader',
    'unwrap_dataset_cfg', 'select_indices'
]
