"""Pose errors against brute-force loops, scipy, and hand-computed cases."""
import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from posessl.evaluation import functional as PF
from tests.cameras import LINEMOD_K

K = LINEMOD_K


def random_poses(n: int, seed: int):
    rng = np.random.default_rng(seed)
    R = Rotation.random(n, random_state=seed).as_matrix()
    t = rng.normal(size=(n, 3)) * 30 + np.array([0.0, 0.0, 900.0])
    return R, t


def loop_add(points, Rp, tp, Rg, tg):
    """ADD by an explicit loop over poses and points."""
    out = []
    for b in range(len(Rp)):
        total = 0.0
        for x in points:
            total += np.linalg.norm((Rp[b] @ x + tp[b]) - (Rg[b] @ x + tg[b]))
        out.append(total / len(points))
    return np.array(out)


def loop_adds(points, Rp, tp, Rg, tg):
    """ADD-S by a double loop: for each GT point, every estimated point."""
    out = []
    for b in range(len(Rp)):
        est = [Rp[b] @ x + tp[b] for x in points]
        total = 0.0
        for x in points:
            g = Rg[b] @ x + tg[b]
            total += min(np.linalg.norm(g - e) for e in est)
        out.append(total / len(points))
    return np.array(out)


@pytest.fixture(scope='module')
def problem():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(60, 3)) * np.array([40.0, 25.0, 15.0])
    Rp, tp = random_poses(6, 1)
    Rg, tg = random_poses(6, 2)
    # two predictions near the GT so that nearest neighbours matter
    Rp[:2] = Rg[:2] @ Rotation.from_rotvec([[0.05, 0, 0], [0, 0.1, 0.02]
                                            ]).as_matrix()
    tp[:2] = tg[:2] + np.array([[1.0, -2.0, 3.0], [0.5, 0.5, -4.0]])
    return points, Rp, tp, Rg, tg


def test_add_matches_loop(problem):
    points, Rp, tp, Rg, tg = problem
    ours = PF.add_error(points, Rp, tp, Rg, tg).numpy()
    np.testing.assert_allclose(ours, loop_add(points, Rp, tp, Rg, tg),
                               rtol=1e-5)


@pytest.mark.parametrize('backend', ['kdtree', 'brute'])
@pytest.mark.parametrize('chunk', [7, 2**24])
def test_adds_matches_double_loop(problem, backend, chunk):
    points, Rp, tp, Rg, tg = problem
    ours = PF.adds_error(points, Rp, tp, Rg, tg, backend=backend,
                         chunk_elements=chunk).numpy()
    np.testing.assert_allclose(ours, loop_adds(points, Rp, tp, Rg, tg),
                               rtol=1e-5)


def test_per_pose_points_and_float32_inputs(problem):
    points, Rp, tp, Rg, tg = problem
    stacked = np.stack([points * (1 + 0.1 * i) for i in range(len(Rp))])
    ref_add = [loop_add(stacked[i], Rp[i:i + 1], tp[i:i + 1], Rg[i:i + 1],
                        tg[i:i + 1])[0] for i in range(len(Rp))]
    ref_adds = [loop_adds(stacked[i], Rp[i:i + 1], tp[i:i + 1], Rg[i:i + 1],
                          tg[i:i + 1])[0] for i in range(len(Rp))]
    np.testing.assert_allclose(
        PF.add_error(stacked, Rp, tp, Rg, tg).numpy(), ref_add, rtol=1e-5)
    for backend in ('kdtree', 'brute'):
        np.testing.assert_allclose(
            PF.adds_error(stacked, Rp, tp, Rg, tg, backend=backend).numpy(),
            ref_adds, rtol=1e-5)
    # float32 tensors (what a model returns) give the same numbers
    f32 = [torch.tensor(a, dtype=torch.float32) for a in (Rp, tp, Rg, tg)]
    np.testing.assert_allclose(
        PF.add_error(torch.tensor(points, dtype=torch.float32), *f32),
        loop_add(points, *[a.double().numpy() for a in f32]), rtol=1e-5)


def test_identical_poses_give_zero(problem):
    points, _, _, Rg, tg = problem
    assert PF.add_error(points, Rg, tg, Rg, tg).abs().max() < 1e-9
    for backend in ('kdtree', 'brute'):
        assert PF.adds_error(points, Rg, tg, Rg, tg,
                             backend=backend).abs().max() < 1e-9
    assert PF.proj2d_error(points, Rg, tg, Rg, tg, K).abs().max() < 1e-9
    assert PF.rotation_error(Rg, Rg).abs().max() < 1e-4  # arccos near 1
    assert PF.translation_error(tg, tg).abs().max() == 0


def test_pure_translation_offset_gives_add_equal_to_offset(problem):
    points, _, _, Rg, tg = problem
    offset = np.array([3.0, -4.0, 12.0])  # |offset| = 13 mm
    add = PF.add_error(points, Rg, tg + offset, Rg, tg)
    np.testing.assert_allclose(add.numpy(), 13.0, rtol=1e-12)
    np.testing.assert_allclose(
        PF.translation_error(tg + offset, tg).numpy(), 13.0, rtol=1e-12)


def test_symmetric_object_turned_by_its_symmetry():
    # a square prism's corners: 90 degrees about z maps the set onto itself
    points = np.array([[x, y, z] for x in (-30.0, 30.0)
                       for y in (-30.0, 30.0) for z in (-10.0, 10.0)])
    gt_R = np.eye(3)[None]
    gt_t = np.array([[10.0, 5.0, 700.0]])
    turned = Rotation.from_euler('z', 90, degrees=True).as_matrix()[None]
    for backend in ('kdtree', 'brute'):
        adds = PF.adds_error(points, turned, gt_t, gt_R, gt_t,
                             backend=backend)
        assert float(adds) < 1e-9
    add = PF.add_error(points, turned, gt_t, gt_R, gt_t)
    # each corner moves 90 degrees on a circle of radius 30 sqrt(2)
    np.testing.assert_allclose(float(add), 60.0, rtol=1e-12)
    np.testing.assert_allclose(float(PF.rotation_error(turned, gt_R)), 90.0,
                               rtol=1e-9)


def test_rotation_error_equals_axis_angle():
    rng = np.random.default_rng(3)
    axes = rng.normal(size=(8, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = np.array([1.0, 5.0, 30.0, 45.0, 90.0, 120.0, 170.0, 179.5])
    delta = Rotation.from_rotvec(axes * np.radians(angles)[:, None])
    gt = Rotation.random(8, random_state=4)
    pred = gt * delta
    err = PF.rotation_error(pred.as_matrix(), gt.as_matrix()).numpy()
    np.testing.assert_allclose(err, angles, atol=1e-6)
    # cross-check with scipy's magnitude of the relative rotation
    np.testing.assert_allclose(err, np.degrees((gt.inv() * pred).magnitude()),
                               atol=1e-6)


def test_proj2d_hand_case():
    # camera f = 500, c = (320, 240); a point at depth 1000 mm moved 2 mm in x
    # moves 500 * 2 / 1000 = 1 px; a point on the axis moved 10 mm in z does
    # not move at all.
    cam = np.array([[500.0, 0, 320.0], [0, 500.0, 240.0], [0, 0, 1.0]])
    eye = np.eye(3)[None]
    points = np.array([[0.0, 0.0, 0.0]])
    t = np.array([[0.0, 0.0, 1000.0]])
    assert float(PF.proj2d_error(points, eye, t + [2, 0, 0], eye, t,
                                 cam)) == pytest.approx(1.0, rel=1e-12)
    assert float(PF.proj2d_error(points, eye, t + [0, 0, 10], eye, t,
                                 cam)) == pytest.approx(0.0, abs=1e-12)
    # two points: (0,0,0) moves 1 px, (0,0,1000) at depth 2000 moves 0.5 px
    points = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1000.0]])
    assert float(PF.proj2d_error(points, eye, t + [2, 0, 0], eye, t,
                                 cam)) == pytest.approx(0.75, rel=1e-12)
    # per-pose cameras give the same result
    assert float(PF.proj2d_error(points, eye, t + [2, 0, 0], eye, t,
                                 cam[None])) == pytest.approx(0.75)


def test_threshold_is_strict():
    d = 100.0
    errors = np.array([9.999999, 10.0, 10.000001, 1.0])
    acc = PF.accuracy_at(errors, d, ks=(0.1, ))
    # 10.0 = 0.1 d exactly is NOT correct (BOP: e < th)
    assert float(acc[0]) == pytest.approx(2 / 4)
    assert float(PF.accuracy_at([10.0], d, ks=(0.1, ))[0]) == 0.0
    assert float(PF.accuracy_at([5.0], 1.0, ks=(5.0, ))[0]) == 0.0
    assert PF.cm_deg_accuracy([5.0, 4.99], [10.0, 50.0]) == 0.0
    assert PF.cm_deg_accuracy([4.99, 4.99], [49.9, 10.0]) == 1.0


def test_accuracy_per_pose_diameters_and_several_ks():
    errors = [1.0, 4.0, 9.0]
    diameters = [10.0, 100.0, 100.0]  # ratios 0.1, 0.04, 0.09
    acc = PF.accuracy_at(errors, diameters, ks=(0.02, 0.05, 0.1))
    np.testing.assert_allclose(acc.numpy(), [0.0, 1 / 3, 2 / 3])


def test_auc_exact_and_discretised():
    d = 100.0
    # ratio 0.05 of 0.1: correct for half of the thresholds
    assert PF.accuracy_auc([5.0], d) == pytest.approx(0.5)
    assert PF.accuracy_auc([5.0], d, num_steps=100) == pytest.approx(0.5)
    assert PF.accuracy_auc([0.0], d) == pytest.approx(1.0)
    assert PF.accuracy_auc([20.0, math.inf], d) == 0.0
    # the Riemann sum approaches the exact area
    errors = np.random.default_rng(5).uniform(0, 12, size=200)
    exact = PF.accuracy_auc(errors, d)
    brute = np.mean([(errors < k * d).mean()
                     for k in np.linspace(0, 0.1, 20001)])
    assert exact == pytest.approx(brute, abs=1e-4)
    for steps in (10, 100, 1000):
        assert abs(PF.accuracy_auc(errors, d, num_steps=steps) -
                   exact) <= 1.0 / steps


def test_invalid_predictions_are_failures_not_crashes(problem):
    points, Rp, tp, Rg, tg = problem
    bad_R, bad_t = Rp.copy(), tp.copy()
    bad_R[1, 0, 0] = np.nan  # NaN
    bad_t[2, 1] = np.inf  # inf translation
    bad_R[3] = bad_R[3] * 1.05  # scaled: not orthonormal
    bad_R[4] = -bad_R[4]  # a reflection: det = -1
    valid = PF.pose_validity(bad_R, bad_t).numpy()
    np.testing.assert_array_equal(valid, [1, 0, 0, 0, 0, 1])
    ref = loop_add(points, Rp, tp, Rg, tg)
    for fn in (PF.add_error, PF.adds_error):
        err = fn(points, bad_R, bad_t, Rg, tg).numpy()
        assert np.isinf(err[1:5]).all()
        good = fn(points, Rp, tp, Rg, tg).numpy()
        np.testing.assert_allclose(err[[0, 5]], good[[0, 5]], rtol=1e-12)
    np.testing.assert_allclose(PF.add_error(points, bad_R, bad_t, Rg,
                                            tg).numpy()[[0, 5]],
                               ref[[0, 5]], rtol=1e-5)
    proj = PF.proj2d_error(points, bad_R, bad_t, Rg, tg, K).numpy()
    assert np.isinf(proj[1:5]).all() and np.isfinite(proj[[0, 5]]).all()
    rot = PF.rotation_error(bad_R, Rg).numpy()
    assert np.isinf(rot[[1, 3, 4]]).all() and np.isfinite(rot[[0, 2, 5]]).all()
    trans = PF.translation_error(bad_t, tg, pred_R=bad_R).numpy()
    assert np.isinf(trans[1:5]).all()
    np.testing.assert_allclose(trans[[0, 5]],
                               np.linalg.norm(tp - tg, axis=1)[[0, 5]])
    # failures count against the accuracy, never as correct
    add = PF.add_error(points, bad_R, bad_t, Rg, tg)
    huge = 1e9
    assert float(PF.accuracy_at(add, huge)[0]) == pytest.approx(2 / 6)


def test_validity_tolerance():
    R = torch.tensor(Rotation.random(50, random_state=7).as_matrix(),
                     dtype=torch.float32)
    assert PF.pose_validity(R).all()  # float32 rounding is fine
    # |R^T R - I| = 2 s + s^2 for a uniform scale 1 + s
    assert PF.pose_validity(R * 1.004).all()  # 8e-3: like LM-O's GT
    assert not PF.pose_validity(R * 1.006).any()  # 1.2e-2
    assert not PF.pose_validity(R, tol=1e-4).logical_not().any()
    assert not PF.pose_validity(R * 1.001, tol=1e-4).any()


def test_bad_ground_truth_and_shapes_raise(problem):
    points, Rp, tp, Rg, tg = problem
    bad = Rg.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match='ground-truth'):
        PF.add_error(points, Rp, tp, bad, tg)
    with pytest.raises(ValueError, match=r'pred_R must be \(B, 3, 3\)'):
        PF.add_error(points, Rp[:, :2], tp, Rg, tg)
    with pytest.raises(ValueError, match='predicted poses but'):
        PF.add_error(points, Rp[:2], tp[:2], Rg, tg)
    with pytest.raises(ValueError, match='points must be'):
        PF.add_error(points[:, :2], Rp, tp, Rg, tg)
    with pytest.raises(ValueError, match='backend'):
        PF.adds_error(points, Rp, tp, Rg, tg, backend='faiss')


def test_brute_chunks_bound_memory(problem):
    # a chunk of 7 pairs forces one pose and one GT point per step: the
    # result is the same as with everything at once
    points, Rp, tp, Rg, tg = problem
    a = PF.adds_error(points, Rp, tp, Rg, tg, backend='brute',
                      chunk_elements=7)
    b = PF.adds_error(points, Rp, tp, Rg, tg, backend='brute',
                      chunk_elements=10**9)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    c = PF.add_error(points, Rp, tp, Rg, tg, chunk_elements=1)
    torch.testing.assert_close(c, PF.add_error(points, Rp, tp, Rg, tg))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_matches_cpu(problem):
    points, Rp, tp, Rg, tg = problem
    cpu = PF.adds_error(points, Rp, tp, Rg, tg)
    gpu = PF.adds_error(points, Rp, tp, Rg, tg, device='cuda')
    assert gpu.device.type == 'cuda'
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-9, atol=1e-9)
