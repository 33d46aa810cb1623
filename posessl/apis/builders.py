"""Build a model, datasets and data loaders from a config outside the Runner.

Checkpoints are read with ``torch.load(weights_only=True)`` only.
"""
import copy
import os.path as osp
from typing import Any, List, Optional, Sequence

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch.utils.data import DataLoader, Subset

from posessl.engine import (
    check_checkpoint_fits,
    enable_checkpoint_safety,
    load_checkpoint_file,
)
from posessl.registry import DATASETS, MODELS

__all__ = [
    'build_inference_model', 'load_weights', 'build_dataset', 'build_loader',
    'unwrap_dataset_cfg', 'select_indices', 'plain_config'
]


def plain_config(cfg: Any) -> Any:
    """A deep, plain-dict copy of a config node."""
    if isinstance(cfg, (Config, ConfigDict)):
        cfg = cfg.to_dict()
    return copy.deepcopy(cfg)


def load_weights(model: torch.nn.Module, checkpoint: str,
                 allow_partial: bool = False) -> dict:
    """Load ``checkpoint``'s state dict into ``model``; return its ``meta``.

    The state dict may be bare or under ``state_dict``. It must fit the
    model (:func:`~posessl.engine.check_checkpoint_fits`) before any weight
    is copied.

    Args:
        model: The model to load into.
        checkpoint: The checkpoint file.
        allow_partial: Load only the tensors that fit (a config's
            ``load_partial = True``).

    Returns:
        The checkpoint's ``meta`` dict, ``{}`` when it has none.

    Raises:
        CheckpointError: the file is missing, unreadable or unsafe, or does
            not fit the model.
    """
    enable_checkpoint_safety()
    loaded = load_checkpoint_file(checkpoint, map_location='cpu')
    is_dict = isinstance(loaded, dict)
    state = loaded.get('state_dict', loaded) if is_dict else loaded
    weights = check_checkpoint_fits(state, model, checkpoint,
                                    allow_partial=allow_partial)
    model.load_state_dict(weights, strict=not allow_partial)
    meta = loaded.get('meta') if is_dict else None
    return meta if isinstance(meta, dict) else {}


def build_inference_model(cfg: Config, checkpoint: Optional[str] = None,
                          device: str = 'cpu',
                          seed: Optional[int] = None) -> torch.nn.Module:
    """``cfg.model`` in eval mode on ``device``, with ``checkpoint``'s
    weights (:func:`load_weights`, partial when ``cfg.load_partial``).

    Without a checkpoint the weights are the modules' fresh initialisation
    (``init_weights`` is not called), drawn after ``torch.manual_seed(seed)``
    when ``seed`` is given.

    Raises:
        CheckpointError: the checkpoint cannot be loaded into the model.
    """
    init_default_scope(cfg.get('default_scope', 'posessl'))
    if seed is not None:
        torch.manual_seed(seed)
    model = MODELS.build(plain_config(cfg.model))
    if checkpoint is not None:
        load_weights(model, checkpoint,
                     allow_partial=bool(cfg.get('load_partial', False)))
    return model.to(device).eval()


def unwrap_dataset_cfg(cfg: dict) -> dict:
    """The frame dataset config inside wrappers such as ``TripletDataset``
    (of a ``ConcatDataset``, its first dataset), as a plain dict."""
    cfg = plain_config(cfg)
    while True:
        if isinstance(cfg.get('dataset'), dict):
            cfg = cfg['dataset']
        elif cfg.get('datasets') and isinstance(cfg['datasets'][0], dict):
            cfg = cfg['datasets'][0]
        else:
            return cfg


def build_dataset(dataset_cfg: dict, pipeline: Optional[list] = None):
    """Build a dataset config, optionally with another pipeline."""
    cfg = plain_config(dataset_cfg)
    if pipeline is not None:
        cfg['pipeline'] = plain_config(pipeline)
    return DATASETS.build(cfg)


def select_indices(dataset: Any, images: Optional[Sequence[str]] = None,
                   num: Optional[int] = None,
                   stride: int = 1) -> List[int]:
    """Frames to use: every ``stride``-th, only those whose ``img_path``
    matches one of ``images`` (a full path or a file name), at most ``num``.

    Raises:
        ValueError: none of ``images`` is in the dataset.
    """
    indices = list(range(0, len(dataset), max(1, stride)))
    if images:
        wanted = {osp.abspath(p) for p in images} | {
            osp.basename(p) for p in images}

        def matches(index: int) -> bool:
            path = str(dataset.get_data_info(index)['img_path'])
            return osp.abspath(path) in wanted or osp.basename(path) in wanted

        indices = [i for i in indices if matches(i)]
        if not indices:
            raise ValueError(f'none of the images {list(images)} is in the '
                             'test dataset')
    return indices[:num] if num is not None else indices


def build_loader(dataloader_cfg: dict, dataset: Any,
                 indices: Optional[Sequence[int]] = None,
                 batch_size: Optional[int] = None) -> DataLoader:
    """A sequential loader over ``dataset`` (or ``indices`` of it) with the
    collate function, batch size and workers of ``dataloader_cfg``."""
    cfg = plain_config(dataloader_cfg)
    cfg['dataset'] = dataset if indices is None else Subset(
        dataset, list(indices))
    cfg['sampler'] = dict(type='DefaultSampler', shuffle=False)
    cfg.pop('batch_sampler', None)
    if batch_size is not None:
        cfg['batch_size'] = batch_size
    if not cfg.get('num_workers'):
        cfg['persistent_workers'] = False
    return Runner.build_dataloader(cfg, seed=0)
