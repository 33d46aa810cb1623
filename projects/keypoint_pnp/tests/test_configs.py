"""The project's configs: they load the project, name registered types, and
differ from the core configs they start from only by the pose head."""
import os.path as osp

import pytest
from mmengine.config import Config

from posessl.engine.cli import check_registered_types
from tests.test_configs import training_step_losses

HERE = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(osp.dirname(HERE))
#: project config -> the core config it swaps the head of
CONFIGS = {
    'pose_r18-ssl-ft-kpt_1xb32-600it_realmesh-10pct.py':
    'pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py',
    'pose_r18-scratch-kpt_1xb32-600it_realmesh-10pct.py':
    'pose_r18-scratch_1xb32-600it_realmesh-10pct.py',
}


def _load(name: str) -> Config:
    return Config.fromfile(osp.join(HERE, 'configs', name))


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_is_its_core_config_with_the_keypoint_head(name):
    cfg = _load(name)
    assert cfg.custom_imports == dict(
        imports=['projects.keypoint_pnp.keypoint_pnp'],
        allow_failed_imports=False)
    check_registered_types(cfg)  # raises UserError on an unknown type
    core = Config.fromfile(osp.join(REPO, 'configs', 'pose', CONFIGS[name]))
    assert cfg.model.head == dict(type='KeypointPnPHead',
                                  hidden_channels=256, kpt_weight=1.0)
    ours, theirs = cfg.to_dict(), core.to_dict()
    for dump in (ours, theirs):
        dump['model'].pop('head')
        dump.pop('custom_imports', None)
    assert ours == theirs


@pytest.mark.slow
def test_config_builds_and_runs_a_step(synthetic_root):
    cfg = _load('pose_r18-ssl-ft-kpt_1xb32-600it_realmesh-10pct.py')
    losses = training_step_losses(cfg, synthetic_root)
    assert set(losses) == {'loss_kpt', 'kpt_err'}
    assert losses['loss_kpt'] > 0 and losses['kpt_err'] > 0
