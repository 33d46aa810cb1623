"""The project's config: it loads the project, names registered types, and
is the core's real-mesh pretraining config with the turn head added."""
import os.path as osp

import pytest
from mmengine.config import Config

from posessl.engine.cli import check_registered_types
from tests.test_configs import training_step_losses

HERE = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(osp.dirname(HERE))
CONFIG = osp.join(HERE, 'configs', 'ssl_r18-turn_1xb32-5e_realmesh.py')


def test_config_is_the_core_pretraining_with_the_turn_head():
    cfg = Config.fromfile(CONFIG)
    assert cfg.custom_imports == dict(
        imports=['projects.quarter_turn.quarter_turn'],
        allow_failed_imports=False)
    check_registered_types(cfg)  # raises UserError on an unknown type
    assert cfg.model.type == 'QuarterTurnPretrainer'
    assert cfg.model.turn_head == dict(type='QuarterTurnHead',
                                       loss_weight=1.0)
    core = Config.fromfile(
        osp.join(REPO, 'configs', 'ssl', 'ssl_r18_1xb32-5e_realmesh.py'))
    ours, theirs = cfg.to_dict(), core.to_dict()
    del ours['custom_imports'], ours['model']['turn_head']
    ours['model']['type'] = 'ContrastivePretrainer'
    assert ours == theirs


@pytest.mark.slow
def test_config_builds_and_runs_a_step(synthetic_root):
    losses = training_step_losses(Config.fromfile(CONFIG), synthetic_root)
    assert set(losses) == {'loss_view', 'pos_sim', 'neg_sim', 'loss_turn',
                           'turn_acc'}
    assert losses['loss_view'] > 0 and losses['loss_turn'] > 0
