"""Every registry location imports, every registered posessl name builds from
a minimal config through its registry, and the components are reachable from
another project's scope with the ``posessl.`` prefix."""
import importlib

import pytest
import torch
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope, Registry

import posessl.registry as posessl_registry
from posessl.registry import REGISTRY_LOCATIONS

REGISTRIES = {
    name: reg
    for name, reg in vars(posessl_registry).items()
    if isinstance(reg, Registry) and reg.scope == 'posessl'
}

_LOAD = dict(type='LoadImageAndMask')


def _bop(root):
    return dict(type='LinemodBOPDataset', data_root=str(root), split='train')


#: A minimal config per registered name; ``root`` is a synthetic set.
MINIMAL = {
    'DATASETS': {
        'LinemodBOPDataset': _bop,
        'LinemodDenseFusionDataset': lambda root: dict(
            type='LinemodDenseFusionDataset',
            data_root=str(root / 'densefusion')),
        'TripletDataset': lambda root: dict(
            type='TripletDataset', dataset=_bop(root)),
    },
    'DATA_SAMPLERS': {
        'TripletSampler': lambda root: dict(
            type='TripletSampler', neg_min_distance=5,
            dataset=REGISTRIES['DATASETS'].build(_bop(root))),
    },
    'TRANSFORMS': {
        'LoadImageAndMask': lambda root: _LOAD,
        'MaskCenteredCrop': lambda root: dict(type='MaskCenteredCrop'),
        'MaskBackground': lambda root: dict(type='MaskBackground'),
        'PackPoseInputs': lambda root: dict(type='PackPoseInputs'),
        'PhotometricAug': lambda root: dict(type='PhotometricAug'),
        'GeneratePoseTarget': lambda root: dict(
            type='GeneratePoseTarget', codec=dict(type='SITECodec')),
    },
    'MODELS': {
        'ContrastivePretrainer': lambda root: dict(
            type='ContrastivePretrainer',
            backbone=dict(type='TorchvisionResNet', depth=18),
            neck=dict(type='ProjectionNeck'),
            head=dict(type='CosineContrastiveHead')),
        'CosineContrastiveHead': lambda root: dict(
            type='CosineContrastiveHead'),
        'PoseDataPreprocessor': lambda root: dict(
            type='PoseDataPreprocessor'),
        'PoseLoss': lambda root: dict(type='PoseLoss'),
        'PoseRegressionHead': lambda root: dict(
            type='PoseRegressionHead', in_channels=512),
        'PoseRegressor': lambda root: dict(
            type='PoseRegressor',
            backbone=dict(type='TorchvisionResNet', depth=18),
            head=dict(type='PoseRegressionHead')),
        'ProjectionNeck': lambda root: dict(
            type='ProjectionNeck', in_channels=512),
        'SilhouetteDepthRefiner': lambda root: dict(
            type='SilhouetteDepthRefiner', models_dir=str(root / 'models')),
        'TorchvisionResNet': lambda root: dict(type='TorchvisionResNet'),
        'TorchvisionVGG': lambda root: dict(type='TorchvisionVGG'),
    },
    'CODECS': {
        'SITECodec': lambda root: dict(type='SITECodec'),
    },
    'METRICS': {
        'ADDMetric': lambda root: dict(type='ADDMetric'),
    },
    'HOOKS': {
        'LogTestMetricsHook': lambda root: dict(type='LogTestMetricsHook'),
        'BopTimeHook': lambda root: dict(type='BopTimeHook'),
        'NonFiniteLossHook': lambda root: dict(type='NonFiniteLossHook'),
        'CheckpointMatchHook': lambda root: dict(type='CheckpointMatchHook'),
        'InterruptHook': lambda root: dict(type='InterruptHook'),
        'PoseVisualizationHook': lambda root: dict(
            type='PoseVisualizationHook'),
        'SkippedSamplesHook': lambda root: dict(type='SkippedSamplesHook'),
    },
    'MODEL_WRAPPERS': {},  # needs a process group: see test_distributed.py
    'OPTIM_WRAPPERS': {
        'BF16AutocastOptimWrapper': lambda root: dict(
            type='BF16AutocastOptimWrapper',
            optimizer=torch.optim.SGD(torch.nn.Linear(2, 1).parameters(),
                                      lr=0.1)),
    },
    'VISUALIZERS': {
        'PoseVisualizer': lambda root: dict(
            type='PoseVisualizer', name='registry-test'),
    },
}


@pytest.mark.parametrize('kind', sorted(REGISTRY_LOCATIONS))
def test_every_location_imports(kind):
    for module in REGISTRY_LOCATIONS[kind]:
        assert importlib.import_module(module) is not None


def test_every_registry_is_a_posessl_child_with_locations():
    for name, reg in REGISTRIES.items():
        assert reg.parent is not None and reg.parent.scope == 'mmengine', name
        assert reg._locations == REGISTRY_LOCATIONS[reg.name], name


def test_minimal_configs_cover_every_registered_name():
    for name, reg in REGISTRIES.items():
        # components the package ships (tests register toy ones of their own)
        registered = {
            key
            for key, obj in reg.module_dict.items()
            if obj.__module__.startswith('posessl.')
        }
        if name == 'MODEL_WRAPPERS':
            assert registered == {'DeviceAwareDistributedDataParallel'}
            continue
        assert registered == set(MINIMAL.get(name, {})), (
            f'{name}: add a minimal config for the new component(s) '
            f'{registered ^ set(MINIMAL.get(name, {}))}')


@pytest.mark.parametrize('kind,name', [(kind, name)
                                       for kind, table in MINIMAL.items()
                                       for name in table])
def test_every_name_builds_through_its_registry(kind, name, synthetic_root):
    cfg = MINIMAL[kind][name](synthetic_root)
    with DefaultScope.overwrite_default_scope('posessl'):
        obj = REGISTRIES[kind].build(cfg)
    assert type(obj).__name__ == name
    assert type(obj) is REGISTRIES[kind].get(name)


def test_posessl_prefix_from_another_scope():
    """What another MMEngine project writes after custom_imports."""
    with DefaultScope.overwrite_default_scope('mmengine'):
        model = ROOT_MODELS.build(
            dict(type='posessl.PoseRegressor',
                 backbone=dict(type='posessl.TorchvisionResNet', depth=18),
                 head=dict(type='posessl.PoseRegressionHead')))
    assert type(model).__name__ == 'PoseRegressor'
    out = model.backbone(torch.zeros(2, 3, 64, 64))
    assert out.shape == (2, 512)
