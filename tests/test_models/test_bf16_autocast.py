"""bfloat16 autocast training (``--amp`` on a CPU): the wrapper autocasts
only the forward, the heads keep their outputs in float32, and ``--amp``
picks the wrapper by the device."""
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper

import posessl.engine.cli as cli
from posessl.engine import BF16AutocastOptimWrapper
from posessl.engine.cli import UserError, configure_device
from posessl.registry import OPTIM_WRAPPERS

from .test_regressor import build_pose


def _wrapper(model: torch.nn.Module) -> BF16AutocastOptimWrapper:
    return OPTIM_WRAPPERS.build(dict(
        type='BF16AutocastOptimWrapper',
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))


def test_wrapper_autocasts_the_forward_only():
    layer = torch.nn.Linear(4, 3)
    wrapper = _wrapper(layer)
    x = torch.randn(2, 4)
    with wrapper.optim_context(layer):
        inside = layer(x)
    assert inside.dtype == torch.bfloat16
    assert layer(x).dtype == torch.float32
    # bfloat16 rounds the float32 result to 8 significant bits.
    torch.testing.assert_close(inside.float(), layer(x), rtol=2 ** -7,
                               atol=1e-2)
    assert layer.weight.dtype == torch.float32  # the weights stay float32


def test_pose_head_outputs_are_float32_and_unchanged_under_autocast():
    torch.manual_seed(0)
    model = build_pose(head=dict(type='PoseRegressionHead',
                                 hidden_channels=16))
    feats = torch.randn(5, 512)
    rot, site = model.head(feats)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        rot_amp, site_amp = model.head(feats)
        # bfloat16 features from the backbone are read as they are
        rot_bf, _ = model.head(feats.bfloat16())
    assert rot_amp.dtype == site_amp.dtype == torch.float32
    assert torch.equal(rot_amp, rot) and torch.equal(site_amp, site)
    assert torch.equal(rot_bf, model.head(feats.bfloat16().float())[0])


def test_train_step_under_the_wrapper_matches_float32(make_batch):
    torch.manual_seed(0)
    model = build_pose(head=dict(type='PoseRegressionHead',
                                 hidden_channels=16))
    model.eval()  # fixed BN statistics: both steps see the same model
    batch = make_batch(4)
    plain = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
    amp = _wrapper(model)
    for group in amp.optimizer.param_groups:
        group['lr'] = 0.0  # compare the losses, not the updates
    fp32 = model.train_step(batch, plain)
    bf16 = model.train_step(batch, amp)
    for key in ('loss_pm', 'loss_rot', 'loss_site'):
        assert torch.isfinite(bf16[key])
        assert bf16[key].item() == pytest.approx(fp32[key].item(), rel=0.05)
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_amp_picks_the_wrapper_by_the_device(monkeypatch):
    def configured(cuda: bool, bf16: bool) -> dict:
        monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
        monkeypatch.setattr(cli, 'cpu_supports_bf16', lambda: bf16)
        cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper')))
        configure_device(cfg, 'none', amp=True)
        return cfg.optim_wrapper

    assert configured(False, True)['type'] == \
        'posessl.BF16AutocastOptimWrapper'
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda: True)
    gpu = configured(True, False)
    assert gpu['type'] == 'AmpOptimWrapper' and gpu['dtype'] == 'bfloat16'
    with pytest.raises(UserError, match='native bfloat16'):
        configured(False, False)
