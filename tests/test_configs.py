"""Every shipped config parses, names only registered components, and the
CPU configs (synthetic and real-mesh) build their model and data on a
generated set."""
import glob
import os.path as osp
from pathlib import Path
from typing import Dict

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from posessl.engine.cli import check_registered_types
from posessl.registry import DATASETS, MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)


def _name(path: str) -> str:
    return osp.relpath(path, osp.join(REPO, 'configs'))


@pytest.mark.parametrize('path', CONFIGS, ids=_name)
def test_config_parses_and_types_are_registered(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'posessl'
    assert cfg.model.type in ('ContrastivePretrainer', 'PoseRegressor')
    check_registered_types(cfg)  # raises UserError on an unknown type


def test_config_names_follow_the_convention():
    import re
    pattern = re.compile(r'^(ssl|pose)_[a-z0-9]+(-[a-z-]+)?_\d+xb\d+-'
                         r'\d+(e|it)_[a-z]+(-[a-z]+)?(-\d+pct)?\.py$')
    for path in CONFIGS:
        assert pattern.match(osp.basename(path)), osp.basename(path)


def test_pseudo_label_config_matches_its_teacher():
    """The student trains on the teacher's split and label fraction, so
    the file's "label" entries are its labelled frames."""
    pose = osp.join(REPO, 'configs', 'pose')
    student = Config.fromfile(osp.join(
        pose, 'pose_r18-ssl-ft-pseudo_1xb32-600it_realmesh-10pct.py'))
    teacher = Config.fromfile(osp.join(
        pose, 'pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py'))
    data = student.train_dataloader.dataset.to_dict()
    assert data.pop('pseudo_labels') == 'work_dirs/pseudo_labels.json'
    assert data == teacher.train_dataloader.dataset.to_dict()
    assert 'pseudo_labels' not in teacher.train_dataloader.dataset


SYNTHETIC = [p for p in CONFIGS if 'synthetic' in p or 'realmesh' in p]


def core_config(*parts: str) -> Config:
    """A shipped config by its path under ``configs/``."""
    return Config.fromfile(osp.join(REPO, 'configs', *parts))


def project_config(path: str, package: str) -> Config:
    """A project's config (``projects/<name>/configs``), checked: it loads
    ``package`` with ``custom_imports`` and names registered types only
    (the projects' config tests use it)."""
    cfg = Config.fromfile(path)
    assert cfg.custom_imports == dict(imports=[package],
                                      allow_failed_imports=False)
    check_registered_types(cfg)  # raises UserError on an unknown type
    return cfg


def assert_core_config_plus_step(ours: Config, step: dict,
                                  core: Config) -> None:
    """``ours`` is ``core`` with ``step`` right after ``MaskCenteredCrop``
    in both training pipelines (and its ``custom_imports``): how a project
    adds a transform to a core recipe."""
    ours = ours.to_dict()
    for pipeline in (ours['train_pipeline'],
                     ours['train_dataloader']['dataset']['pipeline']):
        assert [s['type'] for s in pipeline][1:4] == [
            'MaskCenteredCrop', step['type'], 'MaskBackground']
        assert pipeline.pop(2) == step
    del ours['custom_imports']
    assert ours == core.to_dict()


def training_step_losses(cfg: Config,
                         synthetic_root: Path) -> Dict[str, torch.Tensor]:
    """The losses of one training step of ``cfg``'s model on four samples
    of its training set, pointed at the session's synthetic set (the
    projects' config tests use it too)."""
    dataset_cfg = cfg.train_dataloader.dataset.to_dict()
    inner = dataset_cfg.get('dataset', dataset_cfg)
    inner['data_root'] = str(synthetic_root)
    if inner.get('pseudo_labels'):
        # the file is the teacher's work product, absent in tests
        # (tests/test_engine/test_pseudo_label_tool.py loads one)
        inner['pseudo_labels'] = None
    if cfg.model.get('objects'):  # the refiner's meshes follow them
        cfg.model.objects.models_dir = str(synthetic_root / 'models')
    for part in ('backbone', 'neck'):  # no pretraining file in tests
        if part in cfg.model and cfg.model[part].get('init_cfg'):
            cfg.model[part].init_cfg = None
    with DefaultScope.overwrite_default_scope('posessl'):
        dataset = DATASETS.build(dataset_cfg)
        model = MODELS.build(cfg.model.to_dict())
    if cfg.model.type == 'PoseRegressor':
        from tests.conftest import SYNTHETIC_TINY
        fraction = inner['label_fraction']
        per_seq = max(1, int(fraction * SYNTHETIC_TINY['train_frames'] + 0.5))
        assert len(dataset) == per_seq * SYNTHETIC_TINY['num_objects']
        batch = [dataset[i] for i in range(min(4, len(dataset)))]
    else:
        from posessl.registry import DATA_SAMPLERS
        sampler = DATA_SAMPLERS.build(
            dict(cfg.train_dataloader.sampler, neg_min_distance=10, seed=0),
            default_args=dict(dataset=dataset))
        batch = [dataset[i] for i, _ in zip(sampler, range(4))]
    from mmengine.dataset import pseudo_collate
    model.train()
    data = model.data_preprocessor(pseudo_collate(batch), True)
    return model(**data, mode='loss')


@pytest.mark.slow
@pytest.mark.parametrize('path', SYNTHETIC, ids=_name)
def test_synthetic_config_builds_and_runs_a_step(path, synthetic_root):
    cfg = Config.fromfile(path)
    losses = training_step_losses(cfg, synthetic_root)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total) and total > 0
