"""The models on a CUDA GPU: the same numbers as on the CPU in float32, and
sound geometry under mixed precision (what ``tools/train.py --amp`` runs).

Skipped without CUDA. TF32 is switched off for the float32 comparisons so
that the GPU computes what the CPU computes; the tolerances are those of
float32 summation order, not of a lower precision.
"""
import copy

import pytest
import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from posessl.engine.runner_setup import amp_dtype_name
from posessl.registry import MODELS

from .conftest import dataset_meta
from .test_pretrainer import _pretrainer, _triplets

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason='needs CUDA')


@pytest.fixture
def no_tf32():
    """Exact float32 matrix products on the GPU for the duration of a test."""
    saved = (torch.backends.cuda.matmul.allow_tf32,
             torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    yield
    (torch.backends.cuda.matmul.allow_tf32,
     torch.backends.cudnn.allow_tf32) = saved


def _pose_model() -> torch.nn.Module:
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='PoseRegressor',
             backbone=dict(type='TorchvisionResNet', depth=18),
             head=dict(type='PoseRegressionHead', hidden_channels=64),
             objects=dataset_meta()))
    return model


def _bf16_or_fp16() -> torch.dtype:
    return getattr(torch, amp_dtype_name())  # what --amp trains with


def test_pose_losses_and_predictions_match_the_cpu(make_batch, no_tf32):
    cpu = _pose_model().train()
    gpu = copy.deepcopy(cpu).cuda()
    batch = make_batch(4)
    losses_cpu = cpu(**cpu.data_preprocessor(batch, True), mode='loss')
    losses_gpu = gpu(**gpu.data_preprocessor(batch, True), mode='loss')
    assert set(losses_gpu) == set(losses_cpu)
    for key, value in losses_gpu.items():
        assert value.is_cuda, key
        assert value.item() == pytest.approx(losses_cpu[key].item(),
                                             rel=1e-4, abs=1e-6), key
    cpu.eval()
    gpu.eval()
    with torch.no_grad():
        out_cpu = cpu.test_step(make_batch(3, seed=1))
        out_gpu = gpu.test_step(make_batch(3, seed=1))
    for a, b in zip(out_cpu, out_gpu):
        torch.testing.assert_close(b.pred_R.cpu(), a.pred_R, rtol=0,
                                   atol=1e-4)
        torch.testing.assert_close(b.pred_t.cpu(), a.pred_t, rtol=1e-4,
                                   atol=1e-3)  # mm


def test_amp_training_keeps_losses_finite_and_rotations_orthonormal(
        make_batch):
    model = _pose_model().cuda().train()
    reference = copy.deepcopy(model)
    optim = AmpOptimWrapper(
        optimizer=torch.optim.AdamW(model.parameters(), lr=1e-3),
        dtype=_bf16_or_fp16())
    batch = make_batch(8)
    with torch.no_grad():
        full = reference(**reference.data_preprocessor(batch, True),
                         mode='loss')
    full_loss = sum(v for k, v in full.items() if 'loss' in k)
    first = model.train_step(batch, optim)  # logs the summed 'loss'
    # Before the first update both models are the same: mixed precision
    # changes the loss by rounding only.
    assert first['loss'].item() == pytest.approx(full_loss.item(), rel=0.1)
    logs = [model.train_step(batch, optim) for _ in range(5)]
    assert all(torch.isfinite(log['loss']) for log in logs)
    # Six steps on one batch must lower its loss.
    assert logs[-1]['loss'].item() < first['loss'].item()
    model.eval()
    with torch.no_grad(), torch.autocast('cuda', dtype=_bf16_or_fp16()):
        out = model.test_step(make_batch(4, seed=2))
    R = torch.stack([s.pred_R for s in out])
    t = torch.stack([s.pred_t for s in out])
    assert R.dtype == torch.float32 and t.dtype == torch.float32
    eye = torch.eye(3, device=R.device).expand_as(R)
    assert (R.transpose(1, 2) @ R - eye).abs().max() < 1e-5
    assert (torch.det(R) - 1).abs().max() < 1e-5
    assert torch.isfinite(t).all()


def test_pretrainer_loss_matches_the_cpu_and_survives_amp(no_tf32):
    torch.manual_seed(0)
    cpu = _pretrainer(margin=0.3, margin_per_frame=0.1).eval()
    gpu = copy.deepcopy(cpu).cuda()
    batch = _triplets(4, 32)
    loss_cpu = cpu(**cpu.data_preprocessor(batch), mode='loss')
    loss_gpu = gpu(**gpu.data_preprocessor(batch), mode='loss')
    for key, value in loss_gpu.items():
        assert value.item() == pytest.approx(loss_cpu[key].item(),
                                             rel=1e-4, abs=1e-6), key
    gpu.train()
    optim = AmpOptimWrapper(
        optimizer=torch.optim.Adam(gpu.parameters(), lr=5e-4),
        dtype=_bf16_or_fp16())
    logs = [gpu.train_step(batch, optim) for _ in range(3)]
    for log in logs:
        assert torch.isfinite(log['loss'])
        # Cosine similarities of unit embeddings stay in [-1, 1].
        assert -1.0 - 1e-3 <= log['pos_sim'].item() <= 1.0 + 1e-3
        assert -1.0 - 1e-3 <= log['neg_sim'].item() <= 1.0 + 1e-3
    # The plain float32 wrapper on the same GPU model also steps.
    log = gpu.train_step(batch, OptimWrapper(
        torch.optim.SGD(gpu.parameters(), lr=0.01)))
    assert torch.isfinite(log['loss'])


def test_channels_last_inputs_give_the_same_features(make_batch, no_tf32):
    model = _pose_model().cuda().eval()
    batch = make_batch(2)
    model.data_preprocessor.channels_last = True
    x_cl = model.data_preprocessor(batch)['inputs']
    model.data_preprocessor.channels_last = False
    x = model.data_preprocessor(batch)['inputs']
    assert x_cl.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(x_cl, x)
    with torch.no_grad():
        torch.testing.assert_close(model.extract_feat(x_cl),
                                   model.extract_feat(x), rtol=1e-4,
                                   atol=1e-5)


def test_train_and_test_steps_do_not_synchronise(make_batch):
    """The preprocessor, the head's loss and its decoding queue GPU work
    without waiting for it (the typed fields move with one copy each, the
    losses are masked means): ``set_sync_debug_mode('error')`` raises on
    any host synchronisation inside the steps."""
    model = _pose_model().cuda().train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    train_batch, test_batch = make_batch(4), make_batch(3, seed=1)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        log_vars = model.train_step(train_batch, optim)
        model.eval()
        with torch.no_grad():
            out = model.test_step(test_batch)
    finally:
        torch.cuda.set_sync_debug_mode('default')
    assert torch.isfinite(log_vars['loss']).item()
    assert all(s.pred_R.is_cuda and s.pred_t.is_cuda for s in out)
