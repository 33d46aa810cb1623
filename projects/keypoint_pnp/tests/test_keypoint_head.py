"""KeypointPnPHead: its keypoints, targets, losses and PnP decoding, against
hand-computed values and OpenCV's projection."""
import copy
import itertools
from typing import Optional

import cv2
import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper

import projects.keypoint_pnp.keypoint_pnp  # noqa: F401 (registers the head)
from posessl.evaluation.functional import add_error
from posessl.geometry import geodesic_distance, project_points
from posessl.registry import MODELS
from tests.test_models.conftest import crop_sample, dataset_meta, model_points

OUT = 64
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason='needs CUDA')


def build_kpt(**head) -> torch.nn.Module:
    """A ResNet18 PoseRegressor with the keypoint head, objects set."""
    torch.manual_seed(0)
    head = dict(dict(type='KeypointPnPHead', hidden_channels=16), **head)
    return MODELS.build(dict(
        type='PoseRegressor',
        backbone=dict(type='TorchvisionResNet', depth=18), head=head,
        objects=dataset_meta()))


def hand_keypoints(obj_id: int) -> np.ndarray:
    """Box corners and centre of an object's points, by a loop."""
    points = model_points(obj_id).astype(np.float64)
    low = [min(p[a] for p in points) for a in range(3)]
    high = [max(p[a] for p in points) for a in range(3)]
    corners = [[(high if bit else low)[a] for a, bit in enumerate(bits)]
               for bits in itertools.product((0, 1), repeat=3)]
    centre = [(lo + hi) / 2 for lo, hi in zip(low, high)]
    return np.array(corners + [centre])


def exact_coords(sample, out_size=(OUT, OUT)) -> torch.Tensor:
    """The sample's keypoints (9, 2) in crop coordinates, projected by
    OpenCV and normalised by hand (float64)."""
    R = sample.gt_R.double().numpy()
    t = sample.gt_t.double().numpy()
    K = sample.crop_K.double().numpy()
    uv = cv2.projectPoints(hand_keypoints(int(sample.obj_id)),
                           cv2.Rodrigues(R)[0], t, K, None)[0][:, 0]
    h, w = out_size
    return torch.as_tensor((uv - [(w - 1) / 2, (h - 1) / 2]) / [w, h])


def pin_output(head, coords: Optional[torch.Tensor]) -> None:
    """Make the head's output layer give ``coords`` (N, 9, 2) whatever the
    features (a forward hook, removed by the next call)."""
    for handle in getattr(head, '_test_hooks', []):
        handle.remove()
    head._test_hooks = []
    if coords is not None:
        head._test_hooks.append(head.kpt_out.register_forward_hook(
            lambda module, args, out: coords.reshape(out.shape).to(out)))


def feats(n: int) -> torch.Tensor:
    return torch.randn(n, 512, generator=torch.Generator().manual_seed(n))


def test_keypoints_are_the_box_corners_and_centre_with_a_nan_row():
    head = build_kpt().head
    for obj_id in (1, 2):
        row = head.objects.row(obj_id)
        np.testing.assert_allclose(head.obj_keypoints[row].numpy(),
                                   hand_keypoints(obj_id), rtol=0, atol=1e-5)
    assert head.obj_keypoints.shape == (3, 9, 3)
    assert torch.isnan(head.obj_keypoints[-1]).all()
    # not saved: the objects come from the dataset's metainfo
    assert 'obj_keypoints' not in head.state_dict()


def test_targets_equal_the_opencv_projection():
    head = build_kpt().head
    samples = [crop_sample(i, obj_id=1 + i % 2) for i in range(4)]
    target = head.target_keypoints(samples, (OUT, OUT))
    for i, sample in enumerate(samples):
        torch.testing.assert_close(target['coords'][i].double(),
                                   exact_coords(sample), rtol=0, atol=2e-6)
        pixels = project_points(head.obj_keypoints[i % 2].double(),
                                sample.gt_R.double(), sample.gt_t.double(),
                                sample.crop_K)
        torch.testing.assert_close(target['pixels'][i].double(), pixels,
                                   rtol=0, atol=1e-4)


def test_predict_recovers_the_pose_from_exact_keypoints(make_batch):
    model = build_kpt().eval()
    samples = [crop_sample(10 + i, obj_id=1 + i % 2) for i in range(3)]
    pin_output(model.head, torch.stack([exact_coords(s) for s in samples]))
    batch = make_batch(3)
    batch['data_samples'] = samples
    out = model.test_step(batch)
    for sample, pred in zip(samples, out):
        assert pred.pred_R.dtype == torch.float32
        assert pred.pred_R.shape == (3, 3) and pred.pred_t.shape == (3, )
        # float32 keypoints: about 1e-5 px in a 64 px crop
        torch.testing.assert_close(pred.pred_R, sample.gt_R, rtol=0,
                                   atol=1e-3)
        torch.testing.assert_close(pred.pred_t, sample.gt_t, rtol=1e-3,
                                   atol=0)


def test_a_failed_pnp_gives_a_nan_pose_not_an_error(make_batch):
    model = build_kpt().eval()
    coords = torch.zeros(2, 9, 2)
    coords[0, 3, 0] = float('nan')
    coords[1, 5, 1] = float('inf')
    pin_output(model.head, coords)
    batch = make_batch(2)
    for pred in model.test_step(batch):
        assert torch.isnan(pred.pred_R).all()
        assert torch.isnan(pred.pred_t).all()


def test_loss_is_zero_at_the_exact_keypoints():
    head = build_kpt().head
    samples = [crop_sample(i, obj_id=1 + i % 2) for i in range(4)]
    pin_output(head, torch.stack([exact_coords(s) for s in samples]))
    losses = head.loss(feats(4), samples, (OUT, OUT))
    assert set(losses) == {'loss_kpt', 'kpt_err'}
    assert losses['loss_kpt'].item() == pytest.approx(0.0, abs=1e-6)
    assert losses['kpt_err'].item() == pytest.approx(0.0, abs=1e-3)  # px


@pytest.mark.parametrize('beta', [0.0, 0.05])
def test_loss_of_a_known_offset_by_hand(beta):
    # every keypoint 0.01 right and 0.02 up of its target, in crop
    # coordinates of a 48 x 64 (H x W) input: 0.64 px and 0.96 px
    head = build_kpt(beta=beta, kpt_weight=2.0).head
    samples = [crop_sample(i) for i in range(3)]
    out_size = (48, 64)
    offset = torch.tensor([0.01, -0.02], dtype=torch.float64)
    pin_output(head, torch.stack([exact_coords(s, out_size) + offset
                                  for s in samples]))
    losses = head.loss(feats(3), samples, out_size)
    if beta == 0:  # L1: the mean of |0.01| and |0.02|
        per_coord = (0.01 + 0.02) / 2
    else:  # both under beta: 0.5 d^2 / beta
        per_coord = (0.5 * 0.01**2 / beta + 0.5 * 0.02**2 / beta) / 2
    assert losses['loss_kpt'].item() == pytest.approx(2.0 * per_coord,
                                                      rel=1e-4)
    pixels = np.hypot(0.01 * 64, 0.02 * 48)
    assert losses['kpt_err'].item() == pytest.approx(pixels, rel=1e-4)


def test_unlabelled_frames_count_for_nothing_and_keep_gradients_finite():
    head = build_kpt().head
    samples = [crop_sample(i, obj_id=1 + i % 2) for i in range(4)]
    samples[1].has_pose = False
    samples[1].gt_R = torch.full((3, 3), float('nan'))
    samples[1].gt_t = torch.full((3, ), float('nan'))
    x = feats(4)
    losses = head.loss(x, samples, (OUT, OUT))
    # brute force: each labelled sample alone, then the mean
    alone = [head.loss(x[i:i + 1], samples[i:i + 1], (OUT, OUT))
             for i in (0, 2, 3)]
    for key in ('loss_kpt', 'kpt_err'):
        expected = torch.stack([a[key] for a in alone]).mean()
        torch.testing.assert_close(losses[key], expected, msg=key)
    losses['loss_kpt'].backward()
    grads = [p.grad for p in head.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_a_batch_without_labels_gives_zero_loss():
    head = build_kpt().head
    samples = [crop_sample(i, has_pose=False) for i in range(3)]
    for sample in samples:
        sample.gt_t = torch.full((3, ), float('nan'))
    losses = head.loss(feats(3), samples, (OUT, OUT))
    assert losses['loss_kpt'].item() == 0.0
    assert losses['kpt_err'].item() == 0.0
    losses['loss_kpt'].backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters())


def test_an_unknown_object_is_a_clear_error_on_the_cpu():
    head = build_kpt().head
    samples = [crop_sample(0), crop_sample(1)]
    samples[1].obj_id = 9  # not among the model's objects
    with pytest.raises(KeyError, match=r'obj_id 9 \(image toy/000001.png\)'):
        head.loss(feats(2), samples, (OUT, OUT))
    with pytest.raises(KeyError, match='obj_id 9'):
        head.predict(feats(2), samples, (OUT, OUT))


def test_the_head_needs_objects_and_in_channels():
    head = MODELS.build(dict(type='KeypointPnPHead', in_channels=8))
    with pytest.raises(KeyError, match=r'no objects; build the model with '
                       r'objects=dict\(models_dir='):
        head.loss(torch.zeros(1, 8), [crop_sample(0)], (OUT, OUT))
    with pytest.raises(ValueError, match='in_channels'):
        MODELS.build(dict(type='KeypointPnPHead'))
    with pytest.raises(ValueError, match='beta'):
        MODELS.build(dict(type='KeypointPnPHead', in_channels=8, beta=-1))


def test_the_head_learns_keypoints_that_pnp_turns_into_poses():
    # the loss's targets and predict's decoding agree: fit the head alone
    # to eight frames' keypoints, then read the poses back by PnP (measured:
    # 0.002 px, ADD 0.001 d)
    head = build_kpt(hidden_channels=64).head
    samples = [crop_sample(30 + i, obj_id=1 + i % 2) for i in range(8)]
    x = feats(8)
    optimizer = torch.optim.Adam(head.parameters(), lr=3e-3)
    steps = 300
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in range(steps):
        optimizer.zero_grad()
        head.loss(x, samples, (OUT, OUT))['loss_kpt'].backward()
        optimizer.step()
        schedule.step()
    head.eval()
    with torch.no_grad():
        assert head.loss(x, samples, (OUT, OUT))['kpt_err'] < 0.05  # px
        head.predict(x, samples, (OUT, OUT))
    for sample in samples:
        obj_id = int(sample.obj_id)
        add = add_error(model_points(obj_id), sample.pred_R[None],
                        sample.pred_t[None], sample.gt_R[None],
                        sample.gt_t[None])
        assert float(add[0]) < 0.01 * dataset_meta()['diameters'][obj_id]
        angle = torch.rad2deg(geodesic_distance(sample.pred_R,
                                                sample.gt_R))
        assert float(angle) < 0.5


@needs_cuda
def test_cuda_losses_match_the_cpu_and_predict_recovers_poses(make_batch):
    cpu = build_kpt().train()
    gpu = copy.deepcopy(cpu).cuda()
    saved = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # the CPU's float32 convs
    try:
        batch = make_batch(4)
        losses_cpu = cpu(**cpu.data_preprocessor(batch, True), mode='loss')
        losses_gpu = gpu(**gpu.data_preprocessor(batch, True), mode='loss')
    finally:
        torch.backends.cudnn.allow_tf32 = saved
    for key, value in losses_cpu.items():
        assert losses_gpu[key].is_cuda, key
        assert losses_gpu[key].item() == pytest.approx(value.item(),
                                                       rel=1e-4), key
    batch = make_batch(3, seed=1)
    samples = batch['data_samples']
    pin_output(gpu.head, torch.stack([exact_coords(s) for s in samples]))
    gpu.eval()
    for sample, pred in zip(samples, gpu.test_step(batch)):
        assert pred.pred_R.is_cuda and pred.pred_t.is_cuda
        torch.testing.assert_close(pred.pred_R, sample.gt_R.cuda(), rtol=0,
                                   atol=1e-3)
        torch.testing.assert_close(pred.pred_t, sample.gt_t.cuda(),
                                   rtol=1e-3, atol=0)


@needs_cuda
def test_the_cuda_train_step_does_not_synchronise(make_batch):
    """``loss`` queues GPU work without waiting for it (``predict`` waits,
    by design, for PnP): ``set_sync_debug_mode('error')`` raises on any
    host synchronisation inside the step."""
    model = build_kpt().cuda().train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    batch = make_batch(4)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        log_vars = model.train_step(batch, optim)
    finally:
        torch.cuda.set_sync_debug_mode('default')
    assert torch.isfinite(log_vars['loss']).item()
