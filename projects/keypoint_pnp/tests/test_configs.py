"""The project's configs: they load the project, name registered types, and
differ from the core configs they start from only by the pose head."""
import os.path as osp

import pytest
from mmengine.config import Config

from tests.test_configs import (
    core_config,
    project_config,
    training_step_losses,
)

HERE = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: project config -> the core config it swaps the head of
CONFIGS = {
    'pose_r18-ssl-ft-kpt_1xb32-600it_realmesh-10pct.py':
    'pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py',
    'pose_r18-scratch-kpt_1xb32-600it_realmesh-10pct.py':
    'pose_r18-scratch_1xb32-600it_realmesh-10pct.py',
}


def _load(name: str) -> Config:
    return project_config(osp.join(HERE, 'configs', name),
                          'projects.keypoint_pnp.keypoint_pnp')


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_is_its_core_config_with_the_keypoint_head(name):
    ours = _load(name).to_dict()
    assert ours['model'].pop('head') == dict(
        type='KeypointPnPHead', hidden_channels=256, kpt_weight=1.0)
    del ours['custom_imports']
    theirs = core_config('pose', CONFIGS[name]).to_dict()
    del theirs['model']['head']
    assert ours == theirs


@pytest.mark.slow
def test_config_builds_and_runs_a_step(synthetic_root):
    cfg = _load('pose_r18-ssl-ft-kpt_1xb32-600it_realmesh-10pct.py')
    losses = training_step_losses(cfg, synthetic_root)
    assert set(losses) == {'loss_kpt', 'kpt_err'}
    assert losses['loss_kpt'] > 0 and losses['kpt_err'] > 0
