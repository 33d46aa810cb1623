"""How well an embedding space is organised by viewpoint, without labels.

For each query (test) frame, take the database (training) frame nearest in
embedding space and measure the rotation between their ground-truth poses.
A backbone whose latent space follows the viewpoint gives small errors; the
same figure for a random pick is the chance level. The embeddings never see
a pose label: the poses only score the retrieval.
"""
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
    """Index of each query's nearest database embedding.

    Args:
        query: (Q, E) embeddings.
        database: (M, E) embeddings.
        metric: ``'cosine'`` (largest cosine similarity; the embeddings need
            not be normalised) or ``'euclidean'`` (smallest L2 distance).
        chunk_size: Queries handled at once (bounds memory to
            ``chunk_size * M`` similarities).
        query_groups, db_groups: Optional (Q,) and (M,) integer labels
            (e.g. object ids): a query is only matched within its group.

    Returns:
        (Q,) int64 indices into ``database``; ties go to the lowest index.

    Raises:
        ValueError: bad shapes, or a query group absent from the database.
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
    """Rotation difference between each query and its embedding neighbour.

    Args:
        query_emb: (Q, E) query embeddings.
        db_emb: (M, E) database embeddings.
        query_R: (Q, 3, 3) ground-truth rotations of the queries.
        db_R: (M, 3, 3) ground-truth rotations of the database frames.
        metric: See :func:`nearest_neighbour_indices`.
        query_groups, db_groups: Match only within a group (pass the object
            ids: rotations of different objects do not compare).

    Returns:
        ``(errors, indices)``: (Q,) float64 angles in degrees between
        ``query_R[i]`` and ``db_R[indices[i]]``, and the (Q,) neighbours.
    """
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
    """Chance level: rotation difference to a uniformly drawn database frame
    (of the query's group when groups are given).

    Returns:
        (Q,) float64 angles in degrees; deterministic for a given ``seed``.
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
    """Where the camera sits in the object frame: azimuth, elevation, range.

    The camera centre in model coordinates is ``c = -R^T t``; azimuth is the
    angle of ``c`` around the model's ``up_axis`` (degrees in (-180, 180],
    measured from the next axis in x, y, z order), elevation the angle above
    the plane orthogonal to it (degrees in [-90, 90]).

    Args:
        R: (B, 3, 3) rotations, model to camera.
        t: (B, 3) translations (mm).
        up_axis: Model axis taken as "up" (2 = z, LINEMOD's models stand on
            their z axis).

    Returns:
        ``(azimuth_deg, elevation_deg, distance_mm)``, each (B,) float64.
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
    """The pose a retrieved (source) frame implies for a query crop.

    Template matching in the pose head's own terms: the query gets the
    source's SITE values (object offset in the crop, scale-normalised depth)
    and its allocentric rotation (relative to the ray through the crop
    centre), decoded with the query's crop camera. A pose transferred to
    its own crop comes back unchanged.

    Args:
        src_R, src_t: (..., 3, 3) and (..., 3) source poses (mm).
        src_crop_K, dst_crop_K: (..., 3, 3) camera matrices of both inputs.
        out_size: ``(H, W)`` of the network input.

    Returns:
        ``(R, t)`` of the query, camera frame, mm.
    """
    site = site_encode(src_t, src_crop_K, out_size)
    t = site_decode(site, dst_crop_K, out_size)
    src_ray = ray_rotation(crop_center_ray(src_crop_K, out_size))
    dst_ray = ray_rotation(crop_center_ray(dst_crop_K, out_size))
    R = dst_ray @ src_ray.transpose(-1, -2) @ src_R
    return R, t
