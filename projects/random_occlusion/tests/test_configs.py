"""The project's config: it loads the project, names registered types, and
is the core's zero-label render config with RandomOcclusion after the
crop."""
import os.path as osp

import pytest
from mmengine.config import Config

from tests.test_configs import (
    assert_core_config_plus_step,
    core_config,
    project_config,
    training_step_losses,
)

CONFIG = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                  'configs', 'pose_r18-render-occ_1xb32-1200it_lmo-real.py')
OCCLUDER = dict(type='RandomOcclusion', prob=0.5)


def _load() -> Config:
    return project_config(CONFIG,
                          'projects.random_occlusion.random_occlusion')


def test_config_is_the_render_config_with_the_occluder_after_the_crop():
    assert_core_config_plus_step(
        _load(), OCCLUDER,
        core_config('pose', 'pose_r18-render_1xb32-1200it_lmo-real.py'))


@pytest.mark.slow
def test_config_builds_and_runs_a_step(synthetic_root):
    cfg = _load()
    # on the session's synthetic set: its objects, every frame labelled
    cfg.train_dataloader.dataset.update(obj_ids=None, label_fraction=1.0)
    losses = training_step_losses(cfg, synthetic_root)
    assert losses['loss_pm'] > 0 and losses['loss_site'] > 0
