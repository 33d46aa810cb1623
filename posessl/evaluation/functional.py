"""Pose errors and accuracies: the pure maths behind :class:`ADDMetric`.

Every function is torch, batched over ``B`` poses, and runs on the device of
its inputs (or the ``device`` it is given); numpy arrays are accepted too.
Errors are computed in float64. Conventions (see ``docs/architecture.md``):
``x_cam = R @ x_model + t``, millimetres, pixels.

Invalid predictions: a predicted pose whose ``R`` or ``t`` holds NaN/inf, or
whose ``R`` is not a rotation (``max |R^T R - I| > tol`` or ``det R <= 0``),
is a failure. Every error function returns ``inf`` for it, so it is never
counted as correct, never crashes the computation and never skews the other
poses' errors. Ground truth must be finite, else ``ValueError``.

Correctness at a threshold follows the BOP toolkit: an error ``e`` is
correct at threshold ``th`` when ``e < th`` (strictly less).
"""
import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch

from posessl.geometry import geodesic_distance, project_points

__all__ = [
    'DEFAULT_ORTHO_TOL', 'DEFAULT_CHUNK_ELEMENTS', 'pose_validity',
    'add_error', 'adds_error', 'proj2d_error', 'rotation_error',
    'translation_error', 'accuracy_at', 'accuracy_auc', 'cm_deg_accuracy'
]

ArrayLike = Union[np.ndarray, torch.Tensor, Sequence]
Device = Optional[Union[str, torch.device]]

#: Largest ``|R^T R - I|`` entry accepted as a rotation. A network's
#: orthonormalised output is exact to about 1e-6, but annotations are not:
#: LINEMOD-Occluded ground-truth rotations deviate by up to 9.4e-3 (can,
#: printed with few digits), and a method that copies such a rotation must
#: not fail. A raw, never orthonormalised 9-vector is far beyond 1e-2.
DEFAULT_ORTHO_TOL = 1e-2

#: Upper bound on the float64 elements of one chunk's temporary tensors
#: (2**24 elements = 128 MiB), whatever the number of poses and points.
DEFAULT_CHUNK_ELEMENTS = 2**24


def _tensor(x: ArrayLike, device: Device) -> torch.Tensor:
    """``x`` as a float64 tensor on ``device`` (its own device if None)."""
    if isinstance(x, torch.Tensor):
        return x.to(device=device or x.device, dtype=torch.float64)
    return torch.as_tensor(np.asarray(x, dtype=np.float64), device=device)


def _batch_rt(R: ArrayLike, t: ArrayLike, device: Device,
              what: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """Check and batch a rotation (B, 3, 3) / translation (B, 3) pair."""
    R, t = _tensor(R, device), _tensor(t, device)
    if R.shape == (3, 3):
        R = R[None]
    if t.shape == (3, ):
        t = t[None]
    if R.ndim != 3 or R.shape[1:] != (3, 3):
        raise ValueError(f'{what}_R must be (B, 3, 3), got {tuple(R.shape)}')
    if t.ndim != 2 or t.shape[1] != 3:
        raise ValueError(f'{what}_t must be (B, 3), got {tuple(t.shape)}')
    if len(R) != len(t):
        raise ValueError(f'{what}_R holds {len(R)} poses but {what}_t '
                         f'holds {len(t)}')
    return R, t


def pose_validity(R: ArrayLike, t: Optional[ArrayLike] = None,
                  tol: float = DEFAULT_ORTHO_TOL,
                  device: Device = None) -> torch.Tensor:
    """Which poses are usable: finite, orthonormal ``R`` with ``det > 0``.

    Args:
        R: (B, 3, 3) rotations (or one (3, 3)).
        t: Optional (B, 3) translations; must be finite too.
        tol: Largest accepted entry of ``|R^T R - I|``.
        device: Where to compute (default: ``R``'s device).

    Returns:
        (B,) bool tensor, True where the pose is valid.
    """
    R = _tensor(R, device)
    if R.shape == (3, 3):
        R = R[None]
    finite = torch.isfinite(R).flatten(1).all(1)
    if t is not None:
        t = _tensor(t, R.device).reshape(len(R), -1)
        finite &= torch.isfinite(t).all(1)
    # Evaluate the checks on a NaN-free copy so that nothing below warns.
    safe = torch.where(finite[:, None, None], R,
                       torch.eye(3, dtype=R.dtype, device=R.device))
    eye = torch.eye(3, dtype=R.dtype, device=R.device)
    ortho = (safe.transpose(1, 2) @ safe - eye).abs().flatten(1).amax(1)
    return finite & (ortho <= tol) & (torch.linalg.det(safe) > 0)


def _prepare(pred_R: ArrayLike, pred_t: ArrayLike, gt_R: ArrayLike,
             gt_t: ArrayLike, device: Device, tol: float):
    """Batch, validate and sanitise a set of predicted and GT poses.

    Returns ``pred_R, pred_t, gt_R, gt_t, valid`` where invalid predictions
    have been replaced by the identity pose (their errors are set to inf by
    the caller).
    """
    if device is None and isinstance(pred_R, torch.Tensor):
        device = pred_R.device
    pred_R, pred_t = _batch_rt(pred_R, pred_t, device, 'pred')
    gt_R, gt_t = _batch_rt(gt_R, gt_t, pred_R.device, 'gt')
    if len(pred_R) != len(gt_R):
        raise ValueError(f'{len(pred_R)} predicted poses but {len(gt_R)} '
                         'ground-truth poses')
    if not (torch.isfinite(gt_R).all() and torch.isfinite(gt_t).all()):
        raise ValueError('ground-truth poses hold NaN or inf values')
    valid = pose_validity(pred_R, pred_t, tol=tol)
    eye = torch.eye(3, dtype=pred_R.dtype, device=pred_R.device)
    pred_R = torch.where(valid[:, None, None], pred_R, eye)
    pred_t = torch.where(valid[:, None], pred_t, torch.zeros_like(pred_t))
    return pred_R, pred_t, gt_R, gt_t, valid


def _points(points: ArrayLike, num_poses: int,
            device: torch.device) -> torch.Tensor:
    """Model points as (N, 3) shared by all poses or (B, N, 3) per pose."""
    pts = _tensor(points, device)
    if pts.ndim == 2 and pts.shape[1] == 3:
        pass
    elif pts.ndim == 3 and pts.shape[2] == 3 and len(pts) == num_poses:
        pass
    else:
        raise ValueError('points must be (N, 3) or (B, N, 3) with B = '
                         f'{num_poses}, got {tuple(pts.shape)}')
    if pts.shape[-2] == 0:
        raise ValueError('points is empty')
    if not torch.isfinite(pts).all():
        raise ValueError('points hold NaN or inf values')
    return pts


def _pose_chunk(num_points: int, elements: int, chunk_elements: int) -> int:
    """Poses per chunk so ``chunk * num_points * elements`` stays bounded."""
    return max(1, chunk_elements // max(1, num_points * elements))


def _transform(points: torch.Tensor, R: torch.Tensor,
               t: torch.Tensor) -> torch.Tensor:
    """``R x + t`` for (n, 3) or (b, n, 3) points and b poses."""
    return points @ R.transpose(1, 2) + t[:, None, :]


def _chunk_points(pts: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    return pts if pts.ndim == 2 else pts[start:stop]


def add_error(points: ArrayLike, pred_R: ArrayLike, pred_t: ArrayLike,
              gt_R: ArrayLike, gt_t: ArrayLike, device: Device = None,
              tol: float = DEFAULT_ORTHO_TOL,
              chunk_elements: int = DEFAULT_CHUNK_ELEMENTS) -> torch.Tensor:
    """ADD: mean distance between corresponding model points (mm).

    ``mean_i || (R^ x_i + t^) - (R x_i + t) ||``.

    Args:
        points: (N, 3) model points shared by all poses, or (B, N, 3).
        pred_R, pred_t: (B, 3, 3), (B, 3) predicted poses.
        gt_R, gt_t: (B, 3, 3), (B, 3) ground-truth poses.
        device: Where to compute (default: ``pred_R``'s device).
        tol: Orthonormality tolerance of :func:`pose_validity`.
        chunk_elements: Bound on the temporary tensor size.

    Returns:
        (B,) float64 errors; inf for invalid predictions.
    """
    pred_R, pred_t, gt_R, gt_t, valid = _prepare(pred_R, pred_t, gt_R, gt_t,
                                                 device, tol)
    pts = _points(points, len(pred_R), pred_R.device)
    # (R^ - R) x + (t^ - t): one transform instead of two.
    dR, dt = pred_R - gt_R, pred_t - gt_t
    out = torch.empty(len(pred_R), dtype=torch.float64, device=pred_R.device)
    step = _pose_chunk(pts.shape[-2], 6, chunk_elements)
    for s in range(0, len(pred_R), step):
        e = s + step
        diff = _transform(_chunk_points(pts, s, e), dR[s:e], dt[s:e])
        out[s:e] = torch.linalg.vector_norm(diff, dim=-1).mean(-1)
    return torch.where(valid, out, torch.full_like(out, math.inf))


def _adds_brute(pts: torch.Tensor, pred_R: torch.Tensor,
                pred_t: torch.Tensor, gt_R: torch.Tensor,
                gt_t: torch.Tensor, chunk_elements: int) -> torch.Tensor:
    """ADD-S by exhaustive nearest neighbours, chunked over poses and GT
    points so that at most ``chunk_elements`` distances exist at a time."""
    num_poses, n = len(pred_R), pts.shape[-2]
    out = torch.empty(num_poses, dtype=torch.float64, device=pred_R.device)
    poses_step = _pose_chunk(n * n, 1, chunk_elements)
    rows_step = max(1, chunk_elements // n)
    for s in range(0, num_poses, poses_step):
        e = min(s + poses_step, num_poses)
        p = _chunk_points(pts, s, e)
        est = _transform(p, pred_R[s:e], pred_t[s:e])  # (b, n, 3)
        gt = _transform(p, gt_R[s:e], gt_t[s:e])
        est_sq = (est * est).sum(-1)  # (b, n)
        total = torch.zeros(e - s, dtype=torch.float64, device=est.device)
        for r in range(0, n, rows_step):
            g = gt[:, r:r + rows_step]  # (b, m, 3)
            # |g - e|^2 = |g|^2 - 2 g.e + |e|^2; the argmin only, the
            # distance itself is recomputed exactly from the chosen point.
            sq = est_sq[:, None, :] - 2.0 * (g @ est.transpose(1, 2))
            nearest = sq.argmin(-1)  # (b, m)
            match = torch.gather(est, 1, nearest[..., None].expand(-1, -1, 3))
            total += torch.linalg.vector_norm(g - match, dim=-1).sum(-1)
        out[s:e] = total / n
    return out


def _adds_kdtree(pts: torch.Tensor, pred_R: torch.Tensor,
                 pred_t: torch.Tensor, gt_R: torch.Tensor,
                 gt_t: torch.Tensor, chunk_elements: int) -> torch.Tensor:
    """ADD-S with scipy's KD-tree, one tree per model, not one per pose.

    Distances are invariant under a rigid motion, so the GT points are taken
    into the estimate's model frame, ``y = R^T (R x + t - t^)``, and matched
    against the model points themselves: the tree is built once, and the
    queries of many poses go to it in one parallel call. The GT points are
    visited in the tree's own order (ADD-S is a mean over them, so the
    order does not change it), which keeps consecutive queries close in
    space. The distance to the chosen neighbour is then recomputed in the
    camera frame from the actual poses.
    """
    from scipy.spatial import cKDTree

    P, Rh, th = (pts.cpu().numpy(), pred_R.cpu().numpy(),
                 pred_t.cpu().numpy())
    G, tg = gt_R.cpu().numpy(), gt_t.cpu().numpy()
    num_poses, n = len(Rh), P.shape[-2]
    out = np.empty(num_poses)
    shared = P.ndim == 2
    step = _pose_chunk(n, 12, chunk_elements) if shared else 1
    if shared:
        tree = cKDTree(P)
        queries = P[tree.indices]
    for s in range(0, num_poses, step):
        e = min(s + step, num_poses)
        if not shared:
            tree = cKDTree(P[s])
            queries = P[s][tree.indices]
        model = tree.data
        gt = queries @ G[s:e].transpose(0, 2, 1) + tg[s:e, None]  # (b,n,3)
        local = (gt - th[s:e, None]) @ Rh[s:e]  # rows: R^T (g - t^)
        nn = tree.query(local.reshape(-1, 3), k=1,
                        workers=-1)[1].reshape(e - s, n)
        est = model[nn] @ Rh[s:e].transpose(0, 2, 1) + th[s:e, None]
        out[s:e] = np.linalg.norm(gt - est, axis=-1).mean(-1)
    return torch.from_numpy(out).to(pred_R.device)


def adds_error(points: ArrayLike, pred_R: ArrayLike, pred_t: ArrayLike,
               gt_R: ArrayLike, gt_t: ArrayLike, device: Device = None,
               tol: float = DEFAULT_ORTHO_TOL,
               chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
               backend: str = 'auto') -> torch.Tensor:
    """ADD-S: for each GT point the distance to the nearest estimated point.

    ``mean_i min_j || (R x_i + t) - (R^ x_j + t^) ||`` (the BOP toolkit's
    ``adi``), in mm.

    Args:
        points: (N, 3) model points shared by all poses, or (B, N, 3).
        pred_R, pred_t: (B, 3, 3), (B, 3) predicted poses.
        gt_R, gt_t: (B, 3, 3), (B, 3) ground-truth poses.
        device: Where to compute (default: ``pred_R``'s device).
        tol: Orthonormality tolerance of :func:`pose_validity`.
        chunk_elements: Bound on the number of point pairs (``'brute'``)
            or transformed points (``'kdtree'``) held at once.
        backend: ``'brute'`` (exhaustive, chunked torch: fastest on a GPU),
            ``'kdtree'`` (scipy, one tree per model: fastest on a CPU) or
            ``'auto'`` (``'brute'`` on CUDA, else ``'kdtree'``). Both give
            the same distances; they could differ only where two estimated
            points are equally near to within rounding.

    Returns:
        (B,) float64 errors; inf for invalid predictions.
    """
    pred_R, pred_t, gt_R, gt_t, valid = _prepare(pred_R, pred_t, gt_R, gt_t,
                                                 device, tol)
    pts = _points(points, len(pred_R), pred_R.device)
    if backend == 'auto':
        backend = 'brute' if pred_R.device.type == 'cuda' else 'kdtree'
    if backend == 'brute':
        out = _adds_brute(pts, pred_R, pred_t, gt_R, gt_t, chunk_elements)
    elif backend == 'kdtree':
        out = _adds_kdtree(pts, pred_R, pred_t, gt_R, gt_t, chunk_elements)
    else:
        raise ValueError(f"backend must be 'auto', 'brute' or 'kdtree', "
                         f'got {backend!r}')
    return torch.where(valid, out, torch.full_like(out, math.inf))


def proj2d_error(points: ArrayLike, pred_R: ArrayLike, pred_t: ArrayLike,
                 gt_R: ArrayLike, gt_t: ArrayLike, K: ArrayLike,
                 device: Device = None, tol: float = DEFAULT_ORTHO_TOL,
                 chunk_elements: int = DEFAULT_CHUNK_ELEMENTS
                 ) -> torch.Tensor:
    """Proj2D: mean pixel distance between the model's projections.

    ``mean_i || pi(K, R^ x_i + t^) - pi(K, R x_i + t) ||`` with
    :func:`posessl.geometry.project_points`.

    Args:
        points: (N, 3) model points shared by all poses, or (B, N, 3).
        pred_R, pred_t, gt_R, gt_t: predicted and GT poses (B, ...).
        K: (3, 3) camera shared by all poses, or (B, 3, 3).
        device: Where to compute (default: ``pred_R``'s device).
        tol: Orthonormality tolerance of :func:`pose_validity`.
        chunk_elements: Bound on the temporary tensor size.

    Returns:
        (B,) float64 errors in pixels; inf for invalid predictions and for
        projections that are not finite (a point on the camera plane).
    """
    pred_R, pred_t, gt_R, gt_t, valid = _prepare(pred_R, pred_t, gt_R, gt_t,
                                                 device, tol)
    pts = _points(points, len(pred_R), pred_R.device)
    K = _tensor(K, pred_R.device)
    if K.shape == (3, 3):
        K = K.expand(len(pred_R), 3, 3)
    if K.shape != (len(pred_R), 3, 3):
        raise ValueError(f'K must be (3, 3) or (B, 3, 3), got '
                         f'{tuple(K.shape)}')
    out = torch.empty(len(pred_R), dtype=torch.float64, device=pred_R.device)
    step = _pose_chunk(pts.shape[-2], 8, chunk_elements)
    for s in range(0, len(pred_R), step):
        e = s + step
        p = _chunk_points(pts, s, e)
        if p.ndim == 2:
            p = p.expand(len(pred_R[s:e]), -1, -1)
        uv_est = project_points(p, pred_R[s:e], pred_t[s:e], K[s:e])
        uv_gt = project_points(p, gt_R[s:e], gt_t[s:e], K[s:e])
        out[s:e] = torch.linalg.vector_norm(uv_est - uv_gt, dim=-1).mean(-1)
    out = torch.where(torch.isfinite(out), out, math.inf)
    return torch.where(valid, out, torch.full_like(out, math.inf))


def rotation_error(pred_R: ArrayLike, gt_R: ArrayLike, device: Device = None,
                   tol: float = DEFAULT_ORTHO_TOL) -> torch.Tensor:
    """Rotation error in degrees, the angle of ``R^T R^``, in [0, 180].

    ``arccos(clip((trace(R^ R^T) - 1) / 2, -1, 1))`` with
    :func:`posessl.geometry.geodesic_distance`.

    Returns:
        (B,) float64 errors; inf for invalid predicted rotations.
    """
    R = _tensor(pred_R, device)
    R = R[None] if R.shape == (3, 3) else R
    zeros = torch.zeros(len(R), 3, dtype=R.dtype, device=R.device)
    pred_R, _, gt_R, _, valid = _prepare(R, zeros, gt_R, zeros, R.device,
                                         tol)
    deg = torch.rad2deg(geodesic_distance(pred_R, gt_R))
    return torch.where(valid, deg, torch.full_like(deg, math.inf))


def translation_error(pred_t: ArrayLike, gt_t: ArrayLike,
                      pred_R: Optional[ArrayLike] = None,
                      device: Device = None,
                      tol: float = DEFAULT_ORTHO_TOL) -> torch.Tensor:
    """Translation error ``|| t - t^ ||`` in mm.

    Args:
        pred_t, gt_t: (B, 3) translations.
        pred_R: Optional (B, 3, 3) predicted rotations; when given, a pose
            whose rotation is invalid also gets an infinite error, so that
            one failed pose is a failure in every measure.
        device: Where to compute (default: ``pred_t``'s device).
        tol: Orthonormality tolerance of :func:`pose_validity`.

    Returns:
        (B,) float64 errors; inf for non-finite (or invalid) predictions.
    """
    t = _tensor(pred_t, device)
    t = t[None] if t.shape == (3, ) else t
    eye = torch.eye(3, dtype=t.dtype, device=t.device).expand(len(t), 3, 3)
    R = eye if pred_R is None else pred_R
    pred_R, pred_t, _, gt_t, valid = _prepare(R, t, eye, gt_t, t.device,
                                              tol)
    err = torch.linalg.vector_norm(pred_t - gt_t, dim=-1)
    return torch.where(valid, err, torch.full_like(err, math.inf))


def accuracy_at(errors: ArrayLike, diameters: Union[float, ArrayLike],
                ks: Sequence[float] = (0.1, )) -> torch.Tensor:
    """Fraction of errors strictly below ``k * diameter``, for each ``k``.

    Args:
        errors: (B,) errors (mm); inf counts as incorrect.
        diameters: One diameter (mm) or (B,) per-pose diameters. Pass
            ``1.0`` to threshold the errors themselves (e.g. 5 px).
        ks: Threshold factors.

    Returns:
        (len(ks),) float64 fractions in [0, 1] (0 for no errors).
    """
    err = _tensor(errors, None).reshape(-1)
    d = _tensor(diameters, err.device).reshape(-1)
    ks_t = torch.as_tensor(list(ks), dtype=torch.float64, device=err.device)
    if len(err) == 0:
        return torch.zeros_like(ks_t)
    correct = err[None, :] < ks_t[:, None] * d[None, :]
    return correct.double().mean(1)


def accuracy_auc(errors: ArrayLike, diameters: Union[float, ArrayLike],
                 max_k: float = 0.1,
                 num_steps: Optional[int] = None) -> float:
    """Area under the accuracy-threshold curve for thresholds 0..max_k * d.

    Normalised so that 1 means every error is 0. With ``num_steps=None``
    the area is exact: accuracy at threshold ``k`` is the fraction of
    ``r = e / d`` with ``r < k``, so its integral over ``[0, K]`` divided by
    ``K`` is ``mean(max(0, 1 - r / K))``; there is no discretisation.
    With ``num_steps=S`` it is the right Riemann sum the papers tabulate:
    the mean of the accuracies at ``k = K i / S``, ``i = 1..S``, which
    approaches the exact area as ``S`` grows (error at most ``1 / S``).

    Args:
        errors: (B,) errors (mm); inf contributes 0.
        diameters: One diameter or (B,) per-pose diameters (mm).
        max_k: Largest threshold factor ``K``.
        num_steps: None for the exact area, else the number of thresholds.

    Returns:
        The normalised area in [0, 1] (0 for no errors).
    """
    err = _tensor(errors, None).reshape(-1)
    if len(err) == 0:
        return 0.0
    ratio = err / _tensor(diameters, err.device).reshape(-1)
    if num_steps is None:
        return float((1.0 - ratio / max_k).clamp(min=0.0).mean())
    ks = [max_k * i / num_steps for i in range(1, num_steps + 1)]
    return float(accuracy_at(ratio, 1.0, ks).mean())


def cm_deg_accuracy(rot_err_deg: ArrayLike, trans_err_mm: ArrayLike,
                    max_deg: float = 5.0, max_mm: float = 50.0) -> float:
    """Fraction of poses with rotation error < ``max_deg`` and translation
    error < ``max_mm`` (5cm5deg by default; strict, like every threshold).
    """
    rot = _tensor(rot_err_deg, None).reshape(-1)
    trans = _tensor(trans_err_mm, rot.device).reshape(-1)
    if len(rot) == 0:
        return 0.0
    return float(((rot < max_deg) & (trans < max_mm)).double().mean())
