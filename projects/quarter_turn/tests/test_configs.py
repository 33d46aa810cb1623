"""The project's config: it loads the project, names registered types, and
is the core's real-mesh pretraining config with the turn head added."""
import os.path as osp

import pytest
from mmengine.config import Config

from tests.test_configs import (
    core_config,
    project_config,
    training_step_losses,
)

CONFIG = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                  'configs', 'ssl_r18-turn_1xb32-5e_realmesh.py')


def _load() -> Config:
    return project_config(CONFIG, 'projects.quarter_turn.quarter_turn')


def test_config_is_the_core_pretraining_with_the_turn_head():
    ours = _load().to_dict()
    assert ours['model'].pop('turn_head') == dict(type='QuarterTurnHead',
                                                  loss_weight=1.0)
    assert ours['model']['type'] == 'QuarterTurnPretrainer'
    ours['model']['type'] = 'ContrastivePretrainer'
    del ours['custom_imports']
    assert ours == core_config('ssl', 'ssl_r18_1xb32-5e_realmesh.py').to_dict()


@pytest.mark.slow
def test_config_builds_and_runs_a_step(synthetic_root):
    losses = training_step_losses(_load(), synthetic_root)
    assert set(losses) == {'loss_view', 'pos_sim', 'neg_sim', 'loss_turn',
                           'turn_acc'}
    assert losses['loss_view'] > 0 and losses['loss_turn'] > 0
