"""Triangle meshes of primitives (units are the caller's): triangles wind
counter-clockwise seen from outside, normals are the analytic surface
normals (sharp box edges, smooth surfaces of revolution)."""
from typing import List, Sequence, Tuple

import numpy as np

from ..rendering import Mesh

# (r, z) polyline of a surface of revolution about the z axis.
Profile = Sequence[Tuple[float, float]]


def concatenate(meshes: Sequence[Mesh]) -> Mesh:
    """Join meshes into one (vertex indices are offset, nothing merged)."""
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    return Mesh(
        np.concatenate([m.vertices for m in meshes]),
        np.concatenate([m.normals for m in meshes]),
        np.concatenate([m.faces + o for m, o in zip(meshes, offsets)]),
        np.concatenate([m.colors for m in meshes]))


def grid_patch(origin: Sequence[float], u: Sequence[float],
               v: Sequence[float], nu: int, nv: int) -> Mesh:
    """Flat parallelogram ``origin + a u + b v`` (a, b in [0, 1]).

    Split into ``nu x nv`` quads; it faces ``u x v``.
    """
    origin, u, v = (np.asarray(x, dtype=np.float64) for x in (origin, u, v))
    a = np.linspace(0.0, 1.0, nu + 1)
    b = np.linspace(0.0, 1.0, nv + 1)
    aa, bb = np.meshgrid(a, b, indexing='ij')
    verts = origin + aa[..., None] * u + bb[..., None] * v
    verts = verts.reshape(-1, 3)
    normal = np.cross(u, v)
    normals = np.broadcast_to(normal, verts.shape)
    idx = np.arange((nu + 1) * (nv + 1)).reshape(nu + 1, nv + 1)
    p00, p10 = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel()
    p11, p01 = idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    faces = np.concatenate([np.stack([p00, p10, p11], 1),
                            np.stack([p00, p11, p01], 1)])
    return Mesh(verts, normals, faces)


def box(size: Sequence[float], spacing: float) -> Mesh:
    """Axis-aligned box centred at the origin, sharp edges.

    Args:
        size: edge lengths along x, y, z.
        spacing: target edge length of the grid on each face.
    """
    half = np.asarray(size, dtype=np.float64) / 2.0
    parts = []
    for k in range(3):
        i, j = (k + 1) % 3, (k + 2) % 3  # e_i x e_j = e_k
        n_i = max(1, int(np.ceil(2 * half[i] / spacing)))
        n_j = max(1, int(np.ceil(2 * half[j] / spacing)))
        e_i, e_j = np.zeros(3), np.zeros(3)
        e_i[i], e_j[j] = 2 * half[i], 2 * half[j]
        for sign in (1.0, -1.0):
            origin = -half.copy()
            origin[k] = sign * half[k]
            if sign > 0:
                parts.append(grid_patch(origin, e_i, e_j, n_i, n_j))
            else:
                parts.append(grid_patch(origin, e_j, e_i, n_j, n_i))
    return concatenate(parts)


def lathe(segments: Sequence[Profile], sections: int) -> Mesh:
    """Surface of revolution about the z axis.

    Each segment is an ``(r, z)`` polyline; segments get their own vertices
    so the creases between them stay sharp. A closed outline runs
    counter-clockwise in the ``(r, z)`` half-plane (bottom cap outwards,
    side upwards, top cap inwards) so the faces point outwards. Points with
    ``r == 0`` become a single pole vertex.

    Args:
        segments: polylines, each of at least two points.
        sections: number of vertices around each ring (even keeps the
            mesh invariant under a half turn).
    """
    theta = 2.0 * np.pi * np.arange(sections) / sections
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    parts = []
    for segment in segments:
        prof = np.asarray(segment, dtype=np.float64)
        if len(prof) < 2 or np.any(prof[:, 0] < 0):
            raise ValueError('a lathe segment needs >= 2 points with r >= 0')
        tangent = np.gradient(prof, axis=0)
        # outward normal in the (r, z) half-plane of a ccw outline
        n_rz = np.stack([tangent[:, 1], -tangent[:, 0]], 1)
        n_rz /= np.linalg.norm(n_rz, axis=1, keepdims=True)
        verts, normals, ring_ids = [], [], []
        count = 0
        for (r, z), (nr, nz) in zip(prof, n_rz):
            if r == 0.0:
                verts.append([[0.0, 0.0, z]])
                normals.append([[0.0, 0.0, np.sign(nz)]])
                ring_ids.append(np.full(sections, count))
                count += 1
            else:
                verts.append(np.stack([r * cos_t, r * sin_t,
                                       np.full(sections, z)], 1))
                normals.append(np.stack([nr * cos_t, nr * sin_t,
                                         np.full(sections, nz)], 1))
                ring_ids.append(count + np.arange(sections))
                count += sections
        faces = []
        for lo, hi in zip(ring_ids[:-1], ring_ids[1:]):
            lo_next, hi_next = np.roll(lo, -1), np.roll(hi, -1)
            tri_a = np.stack([lo, lo_next, hi_next], 1)
            tri_b = np.stack([lo, hi_next, hi], 1)
            for tri in (tri_a, tri_b):
                keep = ((tri[:, 0] != tri[:, 1]) & (tri[:, 1] != tri[:, 2])
                        & (tri[:, 0] != tri[:, 2]))
                faces.append(tri[keep])
        parts.append(Mesh(np.concatenate(verts), np.concatenate(normals),
                          np.concatenate(faces)))
    return concatenate(parts)


def arc(r0: float, z0: float, radius: float, start: float, stop: float,
        num: int) -> List[Tuple[float, float]]:
    """Points of a circular arc in the (r, z) half-plane (angles from +r)."""
    angles = np.linspace(start, stop, num)
    r = r0 + radius * np.cos(angles)
    r = np.where(r < 1e-9 * max(radius, 1.0), 0.0, r)  # exact poles
    z = z0 + radius * np.sin(angles)
    return [(float(a), float(b)) for a, b in zip(r, z)]


def line(p: Tuple[float, float], q: Tuple[float, float],
         spacing: float) -> List[Tuple[float, float]]:
    """Points of a straight profile segment, about ``spacing`` apart."""
    n = max(1, int(np.ceil(np.hypot(q[0] - p[0], q[1] - p[1]) / spacing)))
    s = np.linspace(0.0, 1.0, n + 1)
    return [(p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])) for t in s]


def sphere(radius: float, spacing: float) -> Mesh:
    """UV sphere centred at the origin."""
    rings = max(6, int(np.ceil(np.pi * radius / spacing)))
    sections = 2 * max(6, int(np.ceil(np.pi * radius / spacing)))
    prof = arc(0.0, 0.0, radius, -np.pi / 2, np.pi / 2, rings + 1)
    return lathe([prof], sections)


def cylinder(radius: float, height: float, spacing: float,
             top_radius: float = None) -> Mesh:  # type: ignore[assignment]
    """Closed cylinder (or truncated cone) on the z axis, centred at 0."""
    top = radius if top_radius is None else top_radius
    h = height / 2.0
    sections = 2 * max(6, int(np.ceil(np.pi * max(radius, top) / spacing)))
    segs = [line((0.0, -h), (radius, -h), spacing),
            line((radius, -h), (top, h), spacing)]
    if top > 0:
        segs.append(line((top, h), (0.0, h), spacing))
    return lathe(segs, sections)


def capsule(radius: float, length: float, spacing: float) -> Mesh:
    """Cylinder of ``length`` with hemispherical ends, on the z axis."""
    h = length / 2.0
    n = max(4, int(np.ceil(np.pi * radius / 2 / spacing)))
    prof = (arc(0.0, -h, radius, -np.pi / 2, 0.0, n + 1)
            + line((radius, -h), (radius, h), spacing)[1:]
            + arc(0.0, h, radius, 0.0, np.pi / 2, n + 1)[1:])
    sections = 2 * max(6, int(np.ceil(np.pi * radius / spacing)))
    return lathe([prof], sections)

