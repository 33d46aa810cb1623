"""The project's configs: they load the project, name registered types, and
are the core configs they start from with InPlaneRotation in the training
pipeline after the crop."""
import os.path as osp

import pytest
from mmengine.config import Config

from tests.test_configs import (
    assert_core_config_plus_step,
    core_config,
    project_config,
    training_step_losses,
)

HERE = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: project config -> the core config it adds the turn to
CONFIGS = {
    'pose_r18-ssl-ft-inplane_1xb32-600it_realmesh-10pct.py':
    'pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py',
    'pose_r18-scratch-inplane_1xb32-600it_realmesh-10pct.py':
    'pose_r18-scratch_1xb32-600it_realmesh-10pct.py',
}
TURN = dict(type='InPlaneRotation', max_angle=15.0, prob=0.5)


def _load(name: str) -> Config:
    return project_config(osp.join(HERE, 'configs', name),
                          'projects.inplane_rotation.inplane_rotation')


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_is_its_core_config_with_the_turn_after_the_crop(name):
    assert_core_config_plus_step(_load(name), TURN,
                                 core_config('pose', CONFIGS[name]))


@pytest.mark.slow
def test_config_builds_and_runs_a_step(synthetic_root):
    cfg = _load('pose_r18-ssl-ft-inplane_1xb32-600it_realmesh-10pct.py')
    losses = training_step_losses(cfg, synthetic_root)
    assert losses['loss_pm'] > 0 and losses['loss_site'] > 0
