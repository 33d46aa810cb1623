"""The project's config: it loads the project, names registered types, and
is the core config it starts from with its training set wrapped in the
frame cache."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from posessl.engine.cli import check_registered_types
from tests.test_configs import training_step_losses

HERE = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(osp.dirname(HERE))
CONFIG = osp.join(HERE, 'configs',
                  'pose_r18-scratch-cache_1xb32-600it_synthetic-10pct.py')


def test_config_is_the_core_config_with_its_training_set_cached():
    cfg = Config.fromfile(CONFIG)
    assert cfg.custom_imports == dict(
        imports=['projects.frame_cache.frame_cache'],
        allow_failed_imports=False)
    check_registered_types(cfg)  # raises UserError on an unknown type
    core = Config.fromfile(osp.join(
        REPO, 'configs', 'pose',
        'pose_r18-scratch_1xb32-600it_synthetic-10pct.py'))
    ours, theirs = cfg.to_dict(), core.to_dict()
    cached = ours['train_dataloader'].pop('dataset')
    assert cached == dict(type='FrameCacheDataset',
                          cache_dir='data/frame_cache',
                          dataset=theirs['train_dataloader'].pop('dataset'))
    del ours['custom_imports']
    assert ours == theirs


@pytest.mark.slow
def test_config_builds_and_runs_a_step(synthetic_root, tmp_path):
    cfg = Config.fromfile(CONFIG)
    cfg.train_dataloader.dataset.cache_dir = str(tmp_path / 'cache')
    losses = training_step_losses(cfg, synthetic_root)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total) and total > 0
