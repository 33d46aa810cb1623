"""Viewpoint retrieval in an embedding space: the rotation between each
query frame and its nearest database frame, against a random pick's."""
import math
from typing import Optional, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from posessl.geometry import (
    crop_center_ray,
    ray_rotation,
    site_decode,
    site_encode,
)

from .functional import rotation_error

__all__ = [
    'nearest_neighbour_indices', 'nearest_neighbour_rotation_error',
    'random_pick_rotation_error', 'camera_viewpoint', 'transfer_pose'
]

ArrayLike = Union[np.ndarray, torch.Tensor]


def _as_float(x: ArrayLike, dtype=torch.float32) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().to(dtype)
    return torch.as_tensor(np.asarray(x), dtype=dtype)


def nearest_neighbour_indices(query: ArrayLike, database: ArrayLike,
                              metric: str = 'cosine',
                              chunk_size: int = 4096,
                              query_groups: Optional[ArrayLike] = None,
                              db_groups: Optional[ArrayLike] = None
                              ) -> torch.Tensor:
    """(Q,) int64 index of each (Q, E) ``query``'s nearest (M, E)
    ``database`` embedding (ties: the lowest index).

    Args:
        metric: ``'cosine'`` (need not be normalised) or ``'euclidean'``.
        chunk_size: Queries scored at once (``chunk_size * M`` scores).
        query_groups, db_groups: Optional (Q,) and (M,) labels (e.g. object
            ids): a query is only matched within its group.
    """
    q, db = _as_float(query), _as_float(database)
    db = db.to(q.device)
    if q.ndim != 2 or db.ndim != 2 or q.shape[1] != db.shape[1]:
        raise ValueError('query and database must be (Q, E) and (M, E) with '
                         f'the same E, got {tuple(q.shape)} and '
                         f'{tuple(db.shape)}')
    if len(db) == 0:
        raise ValueError('the database is empty')
    if metric == 'cosine':
        q, db = F.normalize(q, dim=1), F.normalize(db, dim=1)
    elif metric != 'euclidean':
        raise ValueError(f"metric must be 'cosine' or 'euclidean', "
                         f'got {metric!r}')
    grouped = query_groups is not None or db_groups is not None
    if grouped:
        if query_groups is None or db_groups is None:
            raise ValueError('give both query_groups and db_groups, or '
                             'neither')
        qg = torch.as_tensor(np.asarray(query_groups)).reshape(-1)
        dg = torch.as_tensor(np.asarray(db_groups)).reshape(-1)
        if len(qg) != len(q) or len(dg) != len(db):
            raise ValueError('one group label per embedding is needed')
        absent = sorted(set(qg.tolist()) - set(dg.tolist()))
        if absent:
            raise ValueError(f'query groups {absent} have no database '
                             'entries to match')
    out = []
    for s in range(0, len(q), chunk_size):
        block = q[s:s + chunk_size]
        # a score to maximise: similarity, or minus the distance
        score = (block @ db.T if metric == 'cosine' else
                 -torch.cdist(block, db))
        if grouped:
            same = qg[s:s + chunk_size, None] == dg[None, :]
            score = score.masked_fill(~same.to(score.device), -math.inf)
        out.append(score.argmax(1))
    if not out:
        return torch.zeros(0, dtype=torch.int64)
    return torch.cat(out)


def nearest_neighbour_rotation_error(
        query_emb: ArrayLike, db_emb: ArrayLike, query_R: ArrayLike,
        db_R: ArrayLike, metric: str = 'cosine',
        query_groups: Optional[ArrayLike] = None,
        db_groups: Optional[ArrayLike] = None
) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(errors, indices)``: each query's embedding neighbour (see
    :func:`nearest_neighbour_indices`) and the (Q,) float64 angle in degrees
    between ``query_R[i]`` (Q, 3, 3) and ``db_R[indices[i]]`` (M, 3, 3).
    Group by object id: rotations of different objects do not compare."""
    query_R, db_R = _as_float(query_R, torch.float64), _as_float(
        db_R, torch.float64)
    if len(query_R) != len(query_emb) or len(db_R) != len(db_emb):
        raise ValueError('one rotation per embedding is needed: '
                         f'{len(query_emb)} query embeddings and '
                         f'{len(query_R)} rotations, {len(db_emb)} database '
                         f'embeddings and {len(db_R)} rotations')
    idx = nearest_neighbour_indices(query_emb, db_emb, metric=metric,
                                    query_groups=query_groups,
                                    db_groups=db_groups)
    return rotation_error(db_R[idx.cpu()], query_R), idx


def random_pick_rotation_error(query_R: ArrayLike, db_R: ArrayLike,
                               seed: int = 0,
                               query_groups: Optional[ArrayLike] = None,
                               db_groups: Optional[ArrayLike] = None
                               ) -> torch.Tensor:
    """Chance level: (Q,) float64 degrees to a database frame drawn
    uniformly (from the query's group if given), deterministic per ``seed``.
    """
    query_R, db_R = _as_float(query_R, torch.float64), _as_float(
        db_R, torch.float64)
    gen = torch.Generator().manual_seed(seed)
    if query_groups is None and db_groups is None:
        idx = torch.randint(len(db_R), (len(query_R), ), generator=gen)
        return rotation_error(db_R[idx], query_R)
    qg = np.asarray(query_groups).reshape(-1)
    dg = np.asarray(db_groups).reshape(-1)
    idx = torch.empty(len(query_R), dtype=torch.int64)
    for group in np.unique(qg):
        members = torch.as_tensor(np.nonzero(dg == group)[0])
        if len(members) == 0:
            raise ValueError(f'query group {group} has no database entries')
        rows = torch.as_tensor(np.nonzero(qg == group)[0])
        pick = torch.randint(len(members), (len(rows), ), generator=gen)
        idx[rows] = members[pick]
    return rotation_error(db_R[idx], query_R)


def camera_viewpoint(R: ArrayLike, t: ArrayLike,
                     up_axis: Optional[int] = 2
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(azimuth_deg, elevation_deg, distance_mm)``, each (B,) float64,
    of the camera centre ``c = -R^T t`` in the model frame of poses
    ``R`` (B, 3, 3), ``t`` (B, 3) mm.

    Azimuth is around the model's ``up_axis`` (2: z, on which LINEMOD's
    models stand), in (-180, 180] from the next axis in x, y, z order;
    elevation is above the plane orthogonal to it, in [-90, 90].
    """
    R = np.asarray(R, dtype=np.float64).reshape(-1, 3, 3)
    t = np.asarray(t, dtype=np.float64).reshape(-1, 3)
    c = -np.einsum('bji,bj->bi', R, t)
    a, b = (up_axis + 1) % 3, (up_axis + 2) % 3
    dist = np.linalg.norm(c, axis=1)
    azimuth = np.degrees(np.arctan2(c[:, b], c[:, a]))
    horiz = np.hypot(c[:, a], c[:, b])
    elevation = np.degrees(np.arctan2(c[:, up_axis], horiz))
    return azimuth, elevation, dist


def transfer_pose(src_R: torch.Tensor, src_t: torch.Tensor,
                  src_crop_K: torch.Tensor, dst_crop_K: torch.Tensor,
                  out_size: Tuple[int, int]) -> Tuple[torch.Tensor,
                                                      torch.Tensor]:
    """``(R, t)`` (mm) a source pose ``src_R`` (..., 3, 3), ``src_t``
    (..., 3) implies for a query crop: the source's SITE values and
    allocentric rotation, decoded with the query's crop camera.

    Args:
        src_crop_K, dst_crop_K: (..., 3, 3) crop cameras of both inputs.
        out_size: ``(H, W)`` of the network input.
    """
    site = site_encode(src_t, src_crop_K, out_size)
    t = site_decode(site, dst_crop_K, out_size)
    src_ray = ray_rotation(crop_center_ray(src_crop_K, out_size))
    dst_ray = ray_rotation(crop_center_ray(dst_crop_K, out_size))
    R = dst_ray @ src_ray.transpose(-1, -2) @ src_R
    return R, t
