"""The project's configs: they load the project, name registered types, and
train on the core ssl-ft config's split, label fraction and pipeline plus
its unlabelled frames, from the same pretraining checkpoint."""
import os.path as osp

import pytest
from mmengine.config import Config

from tests.test_configs import (
    core_config,
    project_config,
    training_step_losses,
)

HERE = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs')
VIEW = 'pose_r18-ssl-ft-view_1xb32-600it_realmesh-10pct.py'
VIEW_SIL = 'pose_r18-ssl-ft-view-sil_1xb32-600it_realmesh-10pct.py'
PACKAGE = 'projects.view_finetune.view_finetune'


def _load(name: str) -> Config:
    return project_config(osp.join(HERE, name), PACKAGE)


def test_view_config_trains_on_its_base_split_with_the_unlabelled_frames():
    view = _load(VIEW)
    base = core_config('pose', 'pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py')
    inner = view.train_dataloader.dataset.dataset.to_dict()
    assert inner.pop('labelled_only') is False
    expected = base.train_dataloader.dataset.to_dict()
    expected.pop('labelled_only')
    assert inner == expected
    sampler = view.train_dataloader.sampler
    assert sampler.type == 'LabelledAnchorTripletSampler'
    assert sampler.labelled_anchor_share == 1.0
    ckpt = base.model.backbone.init_cfg.checkpoint
    assert view.model.backbone.init_cfg.checkpoint == ckpt
    assert view.model.neck.init_cfg.checkpoint == ckpt
    # the rest of the model is the base config's
    ours, theirs = view.model.to_dict(), base.model.to_dict()
    for key in ('neck', 'view_head'):
        ours.pop(key)
    assert ours.pop('type') == 'SemiSupervisedPoseRegressor'
    theirs.pop('type')
    assert ours == theirs


def test_sil_config_adds_the_refiner_alone():
    plain, sil = _load(VIEW).to_dict(), _load(VIEW_SIL).to_dict()
    # the refiner's meshes are model.objects' folder
    assert sil['model'].pop('refiner') == dict(type='SilhouetteDepthRefiner')
    assert sil == plain


@pytest.mark.slow
def test_config_builds_and_runs_a_step(synthetic_root):
    losses = training_step_losses(_load(VIEW), synthetic_root)
    assert losses['loss_view'] > 0 and losses['loss_pm'] >= 0
    assert {'pos_sim', 'neg_sim', 'loss_rot', 'loss_site'} <= set(losses)
