"""High-level use of trained models outside the Runner.

``PoseInferencer`` runs a pose model on images of one's own (CLI:
``tools/infer.py``); the builders make a model and data loaders from a
config for the tools.
"""
from .builders import (
    build_dataset,
    build_inference_model,
    build_loader,
    dataset_img_path,
    load_weights,
    select_indices,
    unwrap_dataset_cfg,
)
from .inferencer import InferenceError, PoseInferencer, PosePrediction

__all__ = [
    'PoseInferencer', 'PosePrediction', 'InferenceError',
    'build_inference_model', 'load_weights', 'build_dataset', 'build_loader',
    'unwrap_dataset_cfg', 'dataset_img_path', 'select_indices'
]
