"""Backbones: one config line apart, widths, freezing, offline weights."""
import copy

import pytest
import torch
import torchvision

from posessl.engine.checkpoint_safety import CheckpointError
from posessl.models import pool_features
from posessl.registry import MODELS

BASE = dict(
    type='PoseRegressor',
    backbone=dict(type='TorchvisionResNet', depth=18),
    head=dict(type='PoseRegressionHead', hidden_channels=32))

#: The one line that changes, and the expected feature width.
BACKBONES = [
    (dict(type='TorchvisionResNet', depth=18), 512),
    (dict(type='TorchvisionResNet', depth=34), 512),
    (dict(type='TorchvisionResNet', depth=50), 2048),
    (dict(type='TorchvisionVGG', depth=11, with_bn=True), 512),
    (dict(type='TorchvisionVGG', depth=16, with_bn=True), 512),
]


@pytest.mark.parametrize('backbone,width', BACKBONES)
def test_backbone_swaps_with_one_config_line(backbone, width):
    cfg = copy.deepcopy(BASE)
    cfg['backbone'] = backbone
    torch.manual_seed(0)
    model = MODELS.build(cfg).eval()
    assert model.backbone.out_channels == width
    assert model.head.in_channels == width
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        feats = model.extract_feat(x)
        rot, site = model(x, mode='tensor')
        pooled = model.backbone(x)
        fmap = model.backbone.feature_map(x)
    assert feats.shape == (2, width)
    assert rot.shape == (2, 6) and site.shape == (2, 3)
    # 64 px at stride 32: a 2 x 2 map whose mean is the pooled feature.
    assert fmap.shape == (2, width, 2, 2)
    assert torch.allclose(pooled, fmap.mean(dim=(2, 3)), atol=1e-6)
    assert torch.allclose(feats, pooled, atol=1e-6)


def test_resnet_matches_torchvision_and_loads_its_state_dict(tmp_path):
    torch.manual_seed(1)
    tv = torchvision.models.resnet18(weights=None).eval()
    path = tmp_path / 'resnet18.pth'
    torch.save(tv.state_dict(), path)
    backbone = MODELS.build(
        dict(type='TorchvisionResNet', depth=18,
             init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    backbone.init_weights()
    backbone.eval()
    ours = backbone.state_dict()
    theirs = {k: v for k, v in tv.state_dict().items()
              if not k.startswith('fc.')}
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        assert torch.equal(ours[key], value), key
    # Same features as torchvision's network without its classifier.
    tv.fc = torch.nn.Identity()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(backbone(x), tv(x), atol=1e-5)


def test_vgg_loads_torchvision_state_dict(tmp_path):
    torch.manual_seed(2)
    tv = torchvision.models.vgg11_bn(weights=None)
    path = tmp_path / 'vgg11_bn.pth'
    # The classifier (400 MB) is dropped to keep the test light; its keys
    # would be ignored anyway.
    torch.save({k: v for k, v in tv.state_dict().items()
                if k.startswith('features.')}, path)
    backbone = MODELS.build(
        dict(type='TorchvisionVGG', depth=11, with_bn=True,
             init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    backbone.init_weights()
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, tv.state_dict()[key]), key


@pytest.mark.parametrize('url', [
    'torchvision://resnet18',
    'https://download.pytorch.org/models/resnet18-f37072fd.pth',
    's3://bucket/resnet18.pth',  # MMEngine's loader needs an absent client
])
def test_url_checkpoint_fails_offline_with_posessl_message(url):
    from posessl.engine.checkpoint_safety import load_from_url
    with pytest.raises(CheckpointError) as expected:
        load_from_url(url)
    backbone = MODELS.build(
        dict(type='TorchvisionResNet', depth=18,
             init_cfg=dict(type='Pretrained', checkpoint=url)))
    with pytest.raises(CheckpointError) as err:
        backbone.init_weights()
    # The loader's one line reaches the user unchanged.
    assert str(err.value) == str(expected.value)
    assert 'give its local path' in str(err.value)
    assert len(str(err.value).splitlines()) == 1


def test_weights_argument_refuses_to_download():
    with pytest.raises(ValueError, match='never downloads') as err:
        MODELS.build(dict(type='TorchvisionResNet', weights='IMAGENET1K_V1'))
    assert "init_cfg=dict(type='Pretrained'" in str(err.value)
    with pytest.raises(ValueError, match='depth'):
        MODELS.build(dict(type='TorchvisionResNet', depth=20))


def _bn_stats(module: torch.nn.Module) -> list:
    return [
        b.clone() for m in module.modules()
        if isinstance(m, torch.nn.BatchNorm2d)
        for b in (m.running_mean, m.running_var)
    ]


def test_frozen_stages_and_norm_eval():
    backbone = MODELS.build(
        dict(type='TorchvisionResNet', depth=18, frozen_stages=1))
    backbone.train()
    frozen = [backbone.conv1, backbone.bn1, backbone.layer1]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for p in backbone.layer2.parameters())
    assert not backbone.bn1.training and not backbone.layer1.training
    assert backbone.layer2.training
    before = _bn_stats(backbone.layer1)
    backbone(torch.randn(2, 3, 64, 64)).sum().backward()
    assert all(torch.equal(a, b)
               for a, b in zip(before, _bn_stats(backbone.layer1)))
    assert backbone.conv1.weight.grad is None
    assert backbone.layer2[0].conv1.weight.grad is not None

    vgg = MODELS.build(dict(type='TorchvisionVGG', depth=11, frozen_stages=2,
                            norm_eval=True))
    vgg.train()
    blocks = vgg.stages()
    assert len(blocks) == 5
    assert all(not p.requires_grad for p in blocks[1].parameters())
    assert all(p.requires_grad for p in blocks[2].parameters())
    bns = [m for m in vgg.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)


def test_pool_features_takes_the_last_map():
    maps = (torch.ones(2, 8, 4, 4), torch.arange(2 * 16 * 4).float().view(
        2, 16, 2, 2))
    pooled = pool_features(maps)
    assert torch.equal(pooled, maps[1].mean(dim=(2, 3)))
    assert torch.equal(pool_features(torch.ones(3, 5)), torch.ones(3, 5))
    with pytest.raises(ValueError, match='backbone output'):
        pool_features(torch.ones(2, 3, 4))


def test_mmpretrain_backbone_in_the_same_slot():
    # Importing mmpretrain.models registers mmpretrain.ResNet.
    pytest.importorskip(
        'mmpretrain.models',
        reason='mmpretrain does not import (pip install posessl[interop])')
    cfg = copy.deepcopy(BASE)
    cfg['backbone'] = dict(type='mmpretrain.ResNet', depth=18)
    torch.manual_seed(0)
    model = MODELS.build(cfg).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        maps = model.backbone(x)
        feats = model.extract_feat(x)
    assert isinstance(maps, tuple)
    assert model.head.in_channels == 512
    assert torch.allclose(feats, maps[-1].mean(dim=(2, 3)))
