"""Rotation utilities against scipy, hand cases and invariants."""
import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from posessl.geometry import (
    axis_angle_to_matrix,
    axis_rotation,
    geodesic_distance,
    look_at_rotation,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    matrix_to_rot6d,
    quaternion_to_matrix,
    random_rotation,
    ray_rotation,
    rot6d_to_matrix,
    rotation_to,
    svd_orthonormalize,
)


def _rotations() -> Rotation:
    """1,000 random rotations plus angles within 1e-3 rad of pi and of 0
    (and exactly pi and 0), fixed seed."""
    rng = np.random.default_rng(0)
    axes = rng.normal(size=(300, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    near_pi = math.pi - rng.uniform(0, 1e-3, 100)
    near_pi[:5] = math.pi
    near_zero = rng.uniform(0, 1e-3, 100)
    near_zero[:5] = 0.0
    # Axes along the coordinate axes at pi: the cases that break w-first
    # conversions (w = 0 and two of x, y, z zero).
    axes[:3] = np.eye(3)
    axes[100:103] = np.eye(3)
    angles = np.concatenate([near_pi, near_zero, rng.uniform(0, math.pi, 100)])
    special = Rotation.from_rotvec(axes * angles[:, None])
    return Rotation.concatenate(
        [Rotation.random(1000, random_state=0), special])


ROTS = _rotations()
R_NP = ROTS.as_matrix()
R = torch.as_tensor(R_NP)  # float64


def _scipy_wxyz(rots: Rotation) -> np.ndarray:
    q = rots.as_quat()  # scalar-last
    return np.concatenate([q[:, 3:], q[:, :3]], axis=1)


def test_quaternion_to_matrix_matches_scipy():
    q = torch.as_tensor(_scipy_wxyz(ROTS))
    np.testing.assert_allclose(quaternion_to_matrix(q).numpy(), R_NP,
                               atol=1e-12)
    # q and -q are the same rotation; scaling does not matter either.
    np.testing.assert_allclose(quaternion_to_matrix(-3.0 * q).numpy(), R_NP,
                               atol=1e-12)


def test_matrix_to_quaternion_matches_scipy_near_0_and_180():
    q = matrix_to_quaternion(R).numpy()
    ref = _scipy_wxyz(ROTS)
    assert (q[:, 0] >= 0).all()
    # Same rotation up to the sign of the quaternion.
    err = np.minimum(np.abs(q - ref).max(1), np.abs(q + ref).max(1))
    assert err.max() < 1e-12
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-14)


def test_matrix_quaternion_matrix_round_trip():
    back = quaternion_to_matrix(matrix_to_quaternion(R))
    assert (back - R).abs().max() < 1e-12
    # float32 keeps the round trip too.
    back32 = quaternion_to_matrix(matrix_to_quaternion(R.float()))
    assert (back32 - R.float()).abs().max() < 2e-6


def test_quaternion_hand_case():
    # 90 degrees about z: w = cos 45, z = sin 45.
    s = math.sqrt(0.5)
    q = torch.tensor([s, 0.0, 0.0, s], dtype=torch.float64)
    expected = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0],
                             [0.0, 0.0, 1.0]], dtype=torch.float64)
    assert torch.allclose(quaternion_to_matrix(q), expected, atol=1e-15)
    # 180 degrees about x: w = 0, and Shepperd picks the x branch.
    Rx = torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64))
    q = matrix_to_quaternion(Rx)
    assert torch.allclose(q.abs(), torch.tensor([0.0, 1.0, 0.0, 0.0],
                                                dtype=torch.float64))


def test_axis_angle_matches_scipy():
    rotvec = ROTS.as_rotvec()
    np.testing.assert_allclose(
        axis_angle_to_matrix(torch.as_tensor(rotvec)).numpy(), R_NP,
        atol=1e-12)
    ours = matrix_to_axis_angle(R).numpy()
    angle = np.linalg.norm(rotvec, axis=1)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), angle,
                               atol=1e-9)
    # Below 180 degrees the vector is unique; at 180, v and -v agree.
    err = np.minimum(np.abs(ours - rotvec).max(1),
                     np.abs(ours + rotvec).max(1))
    assert err.max() < 1e-9
    unique = angle < math.pi - 1e-2
    np.testing.assert_allclose(ours[unique], rotvec[unique], atol=1e-12)
    # The vector maps back onto the matrix everywhere.
    back = axis_angle_to_matrix(torch.as_tensor(ours)).numpy()
    np.testing.assert_allclose(back, R_NP, atol=1e-9)


def test_rot6d_round_trip_and_gram_schmidt_hand_case():
    assert (rot6d_to_matrix(matrix_to_rot6d(R)) - R).abs().max() < 1e-12
    # a = (0, 2, 0), b = (-5, 1, 0): x = (0, 1, 0), z = x cross b / |.| =
    # (0, 0, 1), y = z cross x = (-1, 0, 0): 90 degrees about z.
    d6 = torch.tensor([0.0, 2.0, 0.0, -5.0, 1.0, 0.0], dtype=torch.float64)
    expected = Rotation.from_rotvec([0, 0, math.pi / 2]).as_matrix()
    np.testing.assert_allclose(rot6d_to_matrix(d6).numpy(), expected,
                               atol=1e-15)
    # Any generic 6-vector gives a rotation (orthonormal, det +1).
    noisy = torch.randn(500, 6, generator=torch.Generator().manual_seed(0),
                        dtype=torch.float64)
    M = rot6d_to_matrix(noisy)
    eye = torch.eye(3, dtype=torch.float64).expand_as(M)
    assert (M.transpose(-1, -2) @ M - eye).abs().max() < 1e-12
    assert (torch.det(M) - 1).abs().max() < 1e-12


def _nearest_rotation_brute_force(M: np.ndarray) -> float:
    """Smallest ||M - Q||_F over many random and nearby rotations Q."""
    candidates = Rotation.random(20000, random_state=1).as_matrix()
    best = candidates[np.argmin(
        np.linalg.norm(candidates - M, axis=(1, 2)))]
    # Refine around the best candidate.
    for scale in (1e-1, 1e-2, 1e-3, 1e-4):
        local = Rotation.from_rotvec(
            np.random.default_rng(2).normal(scale=scale, size=(2000, 3)))
        near = local.as_matrix() @ best
        best = near[np.argmin(np.linalg.norm(near - M, axis=(1, 2)))]
    return float(np.linalg.norm(best - M))


def test_svd_orthonormalize_is_the_nearest_rotation():
    rng = np.random.default_rng(3)
    noisy = R_NP[:200] + rng.normal(scale=0.05, size=(200, 3, 3))
    ours = svd_orthonormalize(torch.as_tensor(noisy)).numpy()
    # scipy orthogonalises a non-orthogonal matrix by the same Procrustes
    # problem.
    ref = Rotation.from_matrix(noisy).as_matrix()
    np.testing.assert_allclose(ours, ref, atol=1e-10)
    np.testing.assert_allclose(np.linalg.det(ours), 1.0, atol=1e-12)
    # And no rotation found by brute force is closer.
    for M, Q in zip(noisy[:3], ours[:3]):
        assert np.linalg.norm(Q - M) <= _nearest_rotation_brute_force(M) + 1e-9


def test_svd_orthonormalize_never_returns_a_reflection():
    # Hand case: diag(2, 3, -1) has det < 0. The nearest rotation is I
    # (||M - I||^2 = 1 + 4 + 4 = 9; diag(-1, 1, -1): 9 + 4 = 13;
    # diag(1, -1, -1): 1 + 16 = 17).
    M = torch.diag(torch.tensor([2.0, 3.0, -1.0], dtype=torch.float64))
    assert torch.allclose(svd_orthonormalize(M), torch.eye(
        3, dtype=torch.float64), atol=1e-12)
    # A reflected rotation (det -1) gives a proper rotation.
    reflected = -R[:100]
    out = svd_orthonormalize(reflected)
    assert (torch.det(out) - 1).abs().max() < 1e-10
    eye = torch.eye(3, dtype=torch.float64).expand_as(out)
    assert (out.transpose(-1, -2) @ out - eye).abs().max() < 1e-10
    assert (torch.det(reflected) + 1).abs().max() < 1e-10


def test_geodesic_distance_matches_scipy():
    other = Rotation.random(len(ROTS), random_state=5)
    expected = (ROTS.inv() * other).magnitude()
    ours = geodesic_distance(R, torch.as_tensor(other.as_matrix())).numpy()
    # arccos loses precision near 0 and pi (sqrt of the float error).
    np.testing.assert_allclose(ours, expected, atol=2e-7)
    assert geodesic_distance(R, R).max() < 1e-6


@pytest.mark.parametrize('angle', [0.0, 1e-4, math.pi - 1e-4, math.pi])
def test_geodesic_gradient_is_finite_at_0_and_180(angle):
    gt = torch.as_tensor(R_NP[:10], dtype=torch.float32)
    axis = np.array([0.6, 0.8, 0.0])
    turn = torch.as_tensor(Rotation.from_rotvec(axis * angle).as_matrix(),
                           dtype=torch.float32)
    pred = (gt @ turn).requires_grad_(True)
    value = geodesic_distance(pred, gt, eps=1e-6)
    value.sum().backward()
    assert torch.isfinite(pred.grad).all()
    # The clip costs at most acos(1 - 1e-6) = 1.4e-3 rad.
    assert torch.allclose(value, torch.full_like(value, angle), atol=2e-3)


def test_ray_rotation_matches_scipy():
    rng = np.random.default_rng(4)
    d = rng.normal(size=(100, 3))
    d[:, 2] = np.abs(d[:, 2]) + 0.05
    ours = ray_rotation(torch.as_tensor(d)).numpy()
    z = np.array([0.0, 0.0, 1.0])
    unit = d / np.linalg.norm(d, axis=1, keepdims=True)
    axis = np.cross(z, unit)
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    angle = np.arccos(unit[:, 2])
    ref = Rotation.from_rotvec(axis * angle[:, None]).as_matrix()
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    np.testing.assert_allclose(ours[:, :, 2], unit, atol=1e-12)
    # The optical axis itself gives the identity.
    np.testing.assert_allclose(
        ray_rotation(torch.tensor([0.0, 0.0, 2.0])).numpy(), np.eye(3))


# ------------------------------------------------- numpy pose builders
def test_axis_rotation_turns_the_next_axis_onto_the_one_after():
    """A quarter turn about x takes y to z, about y z to x, about z x to
    y (right-handed), and agrees with scipy for any angle."""
    quarter = np.pi / 2
    e = np.eye(3)
    for axis in range(3):
        turned = axis_rotation(axis, quarter) @ e[(axis + 1) % 3]
        np.testing.assert_allclose(turned, e[(axis + 2) % 3], atol=1e-15)
        ref = Rotation.from_rotvec(0.7 * e[axis]).as_matrix()
        np.testing.assert_allclose(axis_rotation(axis, 0.7), ref,
                                   atol=1e-15)


def test_look_at_rotation_points_the_camera_at_the_origin_with_z_up():
    centre = np.array([300.0, -400.0, 0.0])  # on the horizon, 500 mm away
    c2m = look_at_rotation(centre)
    np.testing.assert_allclose(c2m.T @ c2m, np.eye(3), atol=1e-15)
    assert np.linalg.det(c2m) == pytest.approx(1.0)
    # the optical axis (column 2) looks from the centre at the origin
    np.testing.assert_allclose(c2m[:, 2], [-0.6, 0.8, 0.0], atol=1e-15)
    # image down (column 1) is model -z: +z is up in the image
    np.testing.assert_allclose(c2m[:, 1], [0.0, 0.0, -1.0], atol=1e-15)
    # the origin projects onto the optical axis: x_cam = R (0 - c)
    np.testing.assert_allclose(c2m.T @ -centre, [0.0, 0.0, 500.0],
                               atol=1e-12)


@pytest.mark.parametrize('direction', [[0, 0, 1], [0, 0, -2], [3, 0, 0],
                                       [1, -2, 0.5], [0.95, 0.1, 0.0]])
def test_rotation_to_takes_z_onto_the_direction(direction):
    R = rotation_to(direction)
    d = np.asarray(direction, float)
    np.testing.assert_allclose(R @ [0.0, 0.0, 1.0], d / np.linalg.norm(d),
                               atol=1e-15)
    np.testing.assert_allclose(R.T @ R, np.eye(3), atol=1e-15)
    assert np.linalg.det(R) == pytest.approx(1.0)


def test_random_rotation_is_uniform_and_reproducible():
    rng = np.random.default_rng(0)
    R = np.stack([random_rotation(rng) for _ in range(4000)])
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1),
                               np.broadcast_to(np.eye(3), R.shape),
                               atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-12)
    # Haar measure: E[R] = 0, and the angle's cosine has mean -1/2
    # (trace = 1 + 2 cos, E[trace] = 0)
    np.testing.assert_allclose(R.mean(0), np.zeros((3, 3)), atol=0.03)
    cos = (np.trace(R, axis1=1, axis2=2) - 1) / 2
    assert cos.mean() == pytest.approx(-0.5, abs=0.02)
    np.testing.assert_array_equal(random_rotation(np.random.default_rng(5)),
                                  random_rotation(np.random.default_rng(5)))
