"""The project's configs: they load the project, name registered types, and
are the core configs they start from with InPlaneRotation in the training
pipeline after the crop."""
import os.path as osp

import pytest
from mmengine.config import Config

from posessl.engine.cli import check_registered_types
from tests.test_configs import training_step_losses

HERE = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(osp.dirname(HERE))
#: project config -> the core config it adds the turn to
CONFIGS = {
    'pose_r18-ssl-ft-inplane_1xb32-600it_realmesh-10pct.py':
    'pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py',
    'pose_r18-scratch-inplane_1xb32-600it_realmesh-10pct.py':
    'pose_r18-scratch_1xb32-600it_realmesh-10pct.py',
}
TURN = dict(type='InPlaneRotation', max_angle=15.0, prob=0.5)


def _load(name: str) -> Config:
    return Config.fromfile(osp.join(HERE, 'configs', name))


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_is_its_core_config_with_the_turn_after_the_crop(name):
    cfg = _load(name)
    assert cfg.custom_imports == dict(
        imports=['projects.inplane_rotation.inplane_rotation'],
        allow_failed_imports=False)
    check_registered_types(cfg)  # raises UserError on an unknown type
    ours = cfg.to_dict()
    pipelines = (ours['train_pipeline'],
                 ours['train_dataloader']['dataset']['pipeline'])
    for pipeline in pipelines:
        assert [step['type'] for step in pipeline][1:4] == [
            'MaskCenteredCrop', 'InPlaneRotation', 'MaskBackground']
        assert pipeline.pop(2) == TURN
    del ours['custom_imports']
    core = Config.fromfile(osp.join(REPO, 'configs', 'pose', CONFIGS[name]))
    assert ours == core.to_dict()


@pytest.mark.slow
def test_config_builds_and_runs_a_step(synthetic_root):
    cfg = _load('pose_r18-ssl-ft-inplane_1xb32-600it_realmesh-10pct.py')
    losses = training_step_losses(cfg, synthetic_root)
    assert losses['loss_pm'] > 0 and losses['loss_site'] > 0
