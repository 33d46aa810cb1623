"""Loss functions against hand-computed values and brute-force loops."""
import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from posessl.models.losses import (
    geodesic_loss,
    info_nce_loss,
    point_matching_loss,
    triplet_cosine_loss,
)
from posessl.registry import MODELS

from .conftest import model_points


def _poses(n: int, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    R = Rotation.random(n, random_state=seed).as_matrix()
    t = rng.uniform(-100, 100, (n, 3)) + np.array([0, 0, 800.0])
    return R, t


def _add_brute_force(points, R1, t1, R2, t2) -> float:
    total = 0.0
    for x in points:
        a = R1 @ x + t1
        b = R2 @ x + t2
        total += math.sqrt(sum((a[k] - b[k])**2 for k in range(3)))
    return total / len(points)


def _adds_brute_force(points, R_gt, t_gt, R_est, t_est) -> float:
    est = [R_est @ x + t_est for x in points]
    total = 0.0
    for x in points:
        g = R_gt @ x + t_gt
        total += min(float(np.linalg.norm(g - e)) for e in est)
    return total / len(points)


def test_point_matching_is_zero_at_the_ground_truth():
    R, t = _poses(4, 0)
    R = torch.as_tensor(R)
    pts = torch.as_tensor(model_points(2)[None].repeat(4, 0)).double()
    for norm in ('l1', 'l2'):
        for sym in (False, True):
            loss = point_matching_loss(
                R, R, pts, scale=torch.full((4, ), 50.0),
                symmetric=torch.full((4, ), sym), norm=norm)
            assert loss.abs().max() < 1e-12


def test_point_matching_l1_hand_case():
    # x = (1, 0, 0); R = 90 degrees about z takes it to (0, 1, 0):
    # L1 distance |1 - 0| + |0 - 1| = 2, divided by the diameter 4.
    pts = torch.tensor([[[1.0, 0.0, 0.0]]])
    gt = torch.as_tensor(Rotation.from_rotvec([0, 0, math.pi / 2])
                         .as_matrix(), dtype=torch.float32)[None]
    loss = point_matching_loss(torch.eye(3)[None], gt, pts,
                               scale=torch.tensor([4.0]))
    assert torch.allclose(loss, torch.tensor([0.5]))
    l2 = point_matching_loss(torch.eye(3)[None], gt, pts, norm='l2')
    assert torch.allclose(l2, torch.tensor([math.sqrt(2.0)]))


def test_point_matching_l2_with_translation_equals_add():
    R1, t1 = _poses(3, 1)
    R2, t2 = _poses(3, 2)
    pts = model_points(1, 200).astype(np.float64)
    loss = point_matching_loss(
        torch.as_tensor(R1), torch.as_tensor(R2),
        torch.as_tensor(pts[None].repeat(3, 0)),
        pred_t=torch.as_tensor(t1), gt_t=torch.as_tensor(t2), norm='l2')
    for i in range(3):
        expected = _add_brute_force(pts, R1[i], t1[i], R2[i], t2[i])
        assert loss[i].item() == pytest.approx(expected, rel=1e-12)


def test_symmetric_form_ignores_the_symmetry_turn():
    pts = model_points(2, 200).astype(np.float64)  # symmetric about z, 180
    gt_R, gt_t = _poses(2, 3)
    turn = Rotation.from_rotvec([0, 0, math.pi]).as_matrix()
    pred_R = gt_R @ turn
    args = (torch.as_tensor(pred_R), torch.as_tensor(gt_R),
            torch.as_tensor(pts[None].repeat(2, 0)))
    sym = point_matching_loss(*args, symmetric=torch.tensor([True, True]))
    plain = point_matching_loss(*args, symmetric=torch.tensor([False, False]))
    assert sym.abs().max() < 1e-9
    assert plain.min() > 10.0  # mm: the points really moved
    # A real error is still seen by the symmetric form...
    off = Rotation.from_rotvec([0.3, 0, 0]).as_matrix()
    moved = point_matching_loss(torch.as_tensor(pred_R @ off), *args[1:],
                                symmetric=torch.tensor([True, True]))
    assert moved.min() > 1.0
    # ...and with L2 and translations it is exactly ADD-S.
    pred_t = torch.as_tensor(gt_t) + torch.tensor([3.0, -2.0, 5.0]).double()
    adds = point_matching_loss(
        torch.as_tensor(pred_R @ off), torch.as_tensor(gt_R), args[2],
        symmetric=torch.tensor([True, True]), pred_t=pred_t,
        gt_t=torch.as_tensor(gt_t), norm='l2')
    for i in range(2):
        expected = _adds_brute_force(pts, gt_R[i], gt_t[i],
                                     pred_R[i] @ off, pred_t[i].numpy())
        assert adds[i].item() == pytest.approx(expected, rel=1e-9)


def test_point_matching_gradient_is_finite_at_the_ground_truth():
    R, _ = _poses(2, 4)
    pred = torch.as_tensor(R).clone().requires_grad_(True)
    pts = torch.as_tensor(model_points(2)[None].repeat(2, 0)).double()
    for norm in ('l1', 'l2'):
        pred.grad = None
        point_matching_loss(pred, torch.as_tensor(R), pts, norm=norm,
                            symmetric=torch.tensor([True, False])
                            ).sum().backward()
        assert torch.isfinite(pred.grad).all()


def test_geodesic_loss_values():
    gt = torch.as_tensor(Rotation.random(3, random_state=0).as_matrix())
    turns = Rotation.from_rotvec([[0.2, 0, 0], [0, 1.0, 0], [0, 0, 3.0]])
    pred = gt @ torch.as_tensor(turns.as_matrix())
    expected = torch.tensor([0.2, 1.0, 3.0], dtype=torch.float64)
    assert torch.allclose(geodesic_loss(pred, gt), expected, atol=1e-6)


def test_triplet_loss_hand_values():
    a = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    p = torch.tensor([[1.0, 1.0], [-1.0, 0.0]])
    n = torch.tensor([[0.0, 2.0], [3.0, 0.0]])
    # Triplet 0: cos(a, n) = 0, cos(a, p) = 1/sqrt(2): relu(-0.7071 + m).
    # Triplet 1: cos(a, n) = 1, cos(a, p) = -1: relu(2 + m).
    loss = triplet_cosine_loss(a, p, n, margin=1.0)
    assert torch.allclose(loss, torch.tensor([1 - math.sqrt(0.5), 3.0]))
    loss = triplet_cosine_loss(a, p, n, margin=0.5)
    assert torch.allclose(loss, torch.tensor([0.0, 2.5]))


def test_info_nce_hand_values():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.tensor([[1.0, 1.0], [0.0, 2.0]])
    n = torch.tensor([[-1.0, 0.0], [1.0, 0.0]])
    tau = 0.5
    loss = info_nce_loss(a, p, n, tau)
    # Brute force: anchor i scores every embedding but itself.
    emb = torch.cat([a, p, n])
    expected = []
    for i in range(2):
        logits, target = [], None
        for j in range(6):
            if j == i:
                continue
            cos = float(emb[i] @ emb[j] / (emb[i].norm() * emb[j].norm()))
            if j == 2 + i:
                target = len(logits)
            logits.append(cos / tau)
        denom = sum(math.exp(v) for v in logits)
        expected.append(-math.log(math.exp(logits[target]) / denom))
    assert torch.allclose(loss, torch.tensor(expected), atol=1e-6)
    # Anchor 1 hand check: scores (a0 0, p0 .7071, p1 1, n0 0, n1 0) / 0.5.
    s = [0.0, math.sqrt(0.5), 1.0, 0.0, 0.0]
    by_hand = -2.0 + math.log(sum(math.exp(v / tau) for v in s))
    assert loss[1].item() == pytest.approx(by_hand, rel=1e-6)


def test_contrastive_head_margin_grows_with_frame_distance():
    head = MODELS.build(
        dict(type='CosineContrastiveHead', margin=0.2, margin_per_frame=0.05,
             max_margin=0.6))
    samples = [dict(negative_frame_distance=d) for d in (2, 10, 4)]
    margins = head.margins(samples, 3, torch.device('cpu'))
    # 0.2 + 0.05 * d, capped at 0.6.
    assert torch.allclose(margins, torch.tensor([0.3, 0.6, 0.4]))
    a = torch.tensor([[1.0, 0.0]] * 3)
    p = torch.tensor([[1.0, 0.0]] * 3)  # cos 1
    n = torch.tensor([[0.6, 0.8]] * 3)  # cos 0.6
    out = head.loss(a, p, n, samples)
    # relu(0.6 - 1 + m): 0, 0.2, 0.
    assert out['loss'].item() == pytest.approx(0.2 / 3, rel=1e-6)
    assert out['pos_sim'].item() == pytest.approx(1.0)
    assert out['neg_sim'].item() == pytest.approx(0.6)
    # A farther negative never gets a smaller margin.
    far = head.margins([dict(negative_frame_distance=d) for d in range(20)],
                       20, torch.device('cpu'))
    assert (far[1:] >= far[:-1]).all()
    with pytest.raises(KeyError, match='negative_frame_distance'):
        head.loss(a, p, n, [dict(img_path='x.png')] * 3)


def test_contrastive_head_infonce_mode_matches_function():
    head = MODELS.build(
        dict(type='CosineContrastiveHead', mode='infonce', temperature=0.2))
    g = torch.Generator().manual_seed(0)
    a, p, n = (torch.randn(4, 8, generator=g) for _ in range(3))
    out = head.loss(a, p, n)
    expected = info_nce_loss(a, p, n, 0.2).mean()
    assert out['loss'].item() == pytest.approx(expected.item(), rel=1e-6)
    with pytest.raises(ValueError, match='mode'):
        MODELS.build(dict(type='CosineContrastiveHead', mode='hinge'))


def test_pose_loss_weighs_and_masks_by_hand():
    loss = MODELS.build(dict(type='PoseLoss', pm_weight=2.0, rot_weight=0.5,
                             site_weight=3.0, site_weights=(1.0, 1.0, 10.0)))
    turn = torch.as_tensor(Rotation.from_rotvec([0, 0, 0.2]).as_matrix(),
                           dtype=torch.float32)
    eye = torch.eye(3)
    # frame 0: posed, turned 0.2 rad; frame 1: unposed, wildly off;
    # frame 2: posed, symmetric, turned 0.2 rad
    R = torch.stack([turn, -eye, turn])
    points = torch.tensor([[[10.0, 0.0, 0.0]]]).expand(3, 1, 3)
    site = torch.tensor([[0.1, 0.0, 1.0], [9.0, 9.0, 9.0], [0.0, 0.0, 1.1]])
    gt_site = torch.tensor([[0.0, 0.0, 1.0]] * 3)
    out = loss(R, eye.expand(3, 3, 3), site, gt_site, points,
               diameters=torch.tensor([10.0, 10.0, 20.0]),
               symmetric=torch.tensor([False, False, True]),
               weight=torch.tensor([1.0, 0.0, 1.0]))
    # (10 cos 0.2 - 10, 10 sin 0.2, 0) in L1 over the diameter; the
    # symmetric frame's one point matches itself: the same distance / 20
    d = (10 - 10 * math.cos(0.2)) + 10 * math.sin(0.2)
    assert out['loss_pm'].item() == pytest.approx(
        2.0 * (d / 10 + d / 20) / 2, rel=1e-5)
    # the symmetric frame is left out of the geodesic loss
    assert out['loss_rot'].item() == pytest.approx(0.5 * 0.2, rel=1e-4)
    # L1 0.1 on dx, 0.1 on tz weighted 10
    assert out['loss_site'].item() == pytest.approx(3.0 * (0.1 + 1.0) / 2,
                                                    rel=1e-5)
