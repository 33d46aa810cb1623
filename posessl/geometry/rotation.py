"""Rotations: torch conversions (batched, differentiable, in the given dtype)
and numpy pose builders. Matrices act on column vectors
(``x_cam = R @ x_model + t``); quaternions are scalar-first ``(w, x, y, z)``
(scipy's are scalar-last); axis-angle is ``axis * angle`` (rad)."""
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    'geodesic_distance', 'rot6d_to_matrix', 'matrix_to_rot6d',
    'quaternion_to_matrix', 'matrix_to_quaternion', 'axis_angle_to_matrix',
    'matrix_to_axis_angle', 'svd_orthonormalize', 'skew', 'ray_rotation',
    'axis_rotation', 'look_at_rotation', 'rotation_to', 'random_rotation'
]


def geodesic_distance(R1: torch.Tensor, R2: torch.Tensor,
                      eps: float = 0.0) -> torch.Tensor:
    """Angle (rad) of the relative rotation ``R1^T R2``, its cosine clipped
    to ``[-1 + eps, 1 - eps]``: pass a small ``eps`` (e.g. 1e-6) when the
    result is differentiated, so the gradient stays finite."""
    trace = (R1 * R2).sum(dim=(-2, -1))
    cos = ((trace - 1.0) / 2.0).clamp(-1.0 + eps, 1.0 - eps)
    return torch.acos(cos)


def skew(v: torch.Tensor) -> torch.Tensor:
    """Cross-product matrix ``[v]x`` (..., 3, 3) of vectors ``v`` (..., 3)."""
    zero = torch.zeros_like(v[..., 0])
    x, y, z = v.unbind(-1)
    return torch.stack([
        torch.stack([zero, -z, y], -1),
        torch.stack([z, zero, -x], -1),
        torch.stack([-y, x, zero], -1),
    ], -2)


def rot6d_to_matrix(d6: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) from 6D vectors (..., 6), the first
    two columns ``(a, b)`` (Zhou et al.), by Gram-Schmidt: a proper rotation
    wherever ``a`` and ``b`` are not parallel."""
    if d6.shape[-1] != 6:
        raise ValueError(f'rot6d_to_matrix needs (..., 6), got {d6.shape}')
    a, b = d6[..., :3], d6[..., 3:]
    x = F.normalize(a, dim=-1, eps=eps)
    z = F.normalize(torch.cross(x, b, dim=-1), dim=-1, eps=eps)
    y = torch.cross(z, x, dim=-1)
    return torch.stack([x, y, z], dim=-1)


def matrix_to_rot6d(R: torch.Tensor) -> torch.Tensor:
    """6D vectors (..., 6): the first two columns of ``R`` (..., 3, 3)."""
    return torch.cat([R[..., :, 0], R[..., :, 1]], dim=-1)


def quaternion_to_matrix(q: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) from scalar-first quaternions (..., 4),
    normalised first (any non-zero 4-vector is accepted)."""
    if q.shape[-1] != 4:
        raise ValueError(
            f'quaternion_to_matrix needs (..., 4) (w, x, y, z), got {q.shape}')
    w, x, y, z = F.normalize(q, dim=-1, eps=eps).unbind(-1)
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz = x * y, x * z, y * z
    wx, wy, wz = w * x, w * y, w * z
    return torch.stack([
        torch.stack([1 - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy)], -1),
        torch.stack([2 * (xy + wz), 1 - 2 * (xx + zz), 2 * (yz - wx)], -1),
        torch.stack([2 * (xz - wy), 2 * (yz + wx), 1 - 2 * (xx + yy)], -1),
    ], -2)


def matrix_to_quaternion(R: torch.Tensor) -> torch.Tensor:
    """Scalar-first unit quaternions (..., 4) with ``w >= 0`` from ``R``
    (..., 3, 3), by Shepperd's method (stable at 180 degrees)."""
    if R.shape[-2:] != (3, 3):
        raise ValueError(f'matrix_to_quaternion needs (..., 3, 3), '
                         f'got {R.shape}')
    r00, r01, r02 = R[..., 0, 0], R[..., 0, 1], R[..., 0, 2]
    r10, r11, r12 = R[..., 1, 0], R[..., 1, 1], R[..., 1, 2]
    r20, r21, r22 = R[..., 2, 0], R[..., 2, 1], R[..., 2, 2]
    # 4 w^2, 4 x^2, 4 y^2, 4 z^2; they sum to 4, so the largest is >= 1.
    squares = torch.stack([
        1 + r00 + r11 + r22,
        1 + r00 - r11 - r22,
        1 - r00 + r11 - r22,
        1 - r00 - r11 + r22,
    ], -1)
    # Two times the leading component of each candidate. Clamping only
    # touches candidates that are not selected (the selected one is >= 1),
    # and keeps their gradients finite.
    lead = torch.sqrt(squares.clamp(min=0.1))
    wx, wy, wz = r21 - r12, r02 - r20, r10 - r01
    xy, xz, yz = r01 + r10, r02 + r20, r12 + r21
    # Each row holds 2 * lead * (w, x, y, z) of one candidate.
    candidates = torch.stack([
        torch.stack([squares[..., 0], wx, wy, wz], -1),
        torch.stack([wx, squares[..., 1], xy, xz], -1),
        torch.stack([wy, xy, squares[..., 2], yz], -1),
        torch.stack([wz, xz, yz, squares[..., 3]], -1),
    ], -2) / (2 * lead[..., None])
    best = squares.argmax(dim=-1)
    index = best[..., None, None].expand(*best.shape, 1, 4)
    q = candidates.gather(-2, index).squeeze(-2)
    q = F.normalize(q, dim=-1)
    return torch.where(q[..., :1] < 0, -q, q)


def axis_angle_to_matrix(rotvec: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) from rotation vectors (..., 3)
    (Rodrigues, with series near zero)."""
    if rotvec.shape[-1] != 3:
        raise ValueError(f'axis_angle_to_matrix needs (..., 3), '
                         f'got {rotvec.shape}')
    angle2 = (rotvec * rotvec).sum(-1)
    angle = torch.sqrt(angle2.clamp(min=1e-12))
    small = angle < 1e-3
    safe = torch.where(small, torch.ones_like(angle), angle)
    a = torch.where(small, 1 - angle2 / 6, torch.sin(safe) / safe)
    b = torch.where(small, 0.5 - angle2 / 24,
                    (1 - torch.cos(safe)) / (safe * safe))
    K = skew(rotvec)
    eye = torch.eye(3, dtype=rotvec.dtype, device=rotvec.device)
    return eye + a[..., None, None] * K + b[..., None, None] * (K @ K)


def matrix_to_axis_angle(R: torch.Tensor) -> torch.Tensor:
    """Rotation vectors (..., 3), angle in ``[0, pi]``, from ``R``; at
    exactly 180 degrees either of ``v`` and ``-v`` may be returned."""
    q = matrix_to_quaternion(R)
    w, xyz = q[..., 0], q[..., 1:]
    s = torch.linalg.vector_norm(xyz, dim=-1)
    angle = 2 * torch.atan2(s, w)
    small = angle < 1e-3
    safe_s = torch.where(small, torch.ones_like(s), s)
    factor = torch.where(small, 2 + angle * angle / 12, angle / safe_s)
    return xyz * factor[..., None]


def svd_orthonormalize(M: torch.Tensor) -> torch.Tensor:
    """The rotation nearest to ``M`` (..., 3, 3) in the Frobenius norm,
    never a reflection (also when ``det(M) < 0``)."""
    if M.shape[-2:] != (3, 3):
        raise ValueError(f'svd_orthonormalize needs (..., 3, 3), '
                         f'got {M.shape}')
    U, _, Vh = torch.linalg.svd(M)
    d = torch.det(U @ Vh)
    ones = torch.ones_like(d)
    flip = torch.where(d < 0, -ones, ones)
    D = torch.diag_embed(torch.stack([ones, ones, flip], -1))
    return U @ D @ Vh


def ray_rotation(direction: torch.Tensor) -> torch.Tensor:
    """The smallest rotations (..., 3, 3) taking the optical axis onto rays
    ``direction`` (..., 3) (any length; undefined straight backwards).

    An allocentric rotation (relative to the ray) becomes egocentric as
    ``ray_rotation(d) @ R``.
    """
    d = F.normalize(direction, dim=-1)
    z_axis = torch.zeros_like(d)
    z_axis[..., 2] = 1
    v = torch.cross(z_axis, d, dim=-1)
    c = d[..., 2]
    K = skew(v)
    eye = torch.eye(3, dtype=d.dtype, device=d.device).expand_as(K)
    return eye + K + (K @ K) / (1 + c)[..., None, None]


# numpy: building poses
def axis_rotation(axis: int, angle: float) -> np.ndarray:
    """(3, 3) rotation by ``angle`` (radians) about coordinate axis
    ``axis`` (0 = x, 1 = y, 2 = z), right-handed."""
    c, s = np.cos(angle), np.sin(angle)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m = np.eye(3)
    m[i, i] = m[j, j] = c
    m[i, j], m[j, i] = -s, s
    return m


def look_at_rotation(centre: np.ndarray) -> np.ndarray:
    """Camera-to-model rotation of a camera at ``centre`` facing the
    origin: OpenCV axes as columns in model coordinates, model +z up in
    the image."""
    forward = -centre / np.linalg.norm(centre)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward], 1)


def rotation_to(direction: Sequence[float]) -> np.ndarray:
    """A (3, 3) rotation taking +z onto ``direction`` (any length; not the
    smallest such rotation: that is :func:`ray_rotation`)."""
    d = np.asarray(direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    helper = np.array([1.0, 0.0, 0.0]) if abs(d[0]) < 0.9 else np.array(
        [0.0, 1.0, 0.0])
    x = np.cross(helper, d)
    x /= np.linalg.norm(x)
    y = np.cross(d, x)
    return np.stack([x, y, d], 1)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random (3, 3) rotation (QR of a Gaussian matrix)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q
