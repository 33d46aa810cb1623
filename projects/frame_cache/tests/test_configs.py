"""The project's config: it loads the project, names registered types, and
is the core config it starts from with its training set wrapped in the
frame cache."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tests.test_configs import (
    core_config,
    project_config,
    training_step_losses,
)

CONFIG = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                  'configs',
                  'pose_r18-scratch-cache_1xb32-600it_synthetic-10pct.py')


def _load() -> Config:
    return project_config(CONFIG, 'projects.frame_cache.frame_cache')


def test_config_is_the_core_config_with_its_training_set_cached():
    ours = _load().to_dict()
    theirs = core_config(
        'pose', 'pose_r18-scratch_1xb32-600it_synthetic-10pct.py').to_dict()
    assert ours['train_dataloader'].pop('dataset') == dict(
        type='FrameCacheDataset', cache_dir='data/frame_cache',
        dataset=theirs['train_dataloader'].pop('dataset'))
    del ours['custom_imports']
    assert ours == theirs


@pytest.mark.slow
def test_config_builds_and_runs_a_step(synthetic_root, tmp_path):
    cfg = _load()
    cfg.train_dataloader.dataset.cache_dir = str(tmp_path / 'cache')
    losses = training_step_losses(cfg, synthetic_root)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total) and total > 0
