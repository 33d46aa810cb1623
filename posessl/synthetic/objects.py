"""Procedural LINEMOD-like objects (mm, vertex colours), deterministic from
a seed: asymmetric ``gadget``s, the ``crate`` (invariant under a half turn
about z) and the ``tube`` (a surface of revolution about z)."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import trimesh

from ..geometry.rotation import random_rotation, rotation_to
from ..rendering import Mesh
from ..structures.bop_models import points_diameter
from . import meshes

#: Kind of object ids 1, 2, 3, ... (cycling): of three objects, one is
#: symmetric.
KIND_CYCLE = ('gadget', 'crate', 'gadget', 'tube', 'gadget', 'gadget')
DIAMETER_RANGE = {'gadget': (100.0, 290.0), 'crate': (150.0, 200.0),
                  'tube': (140.0, 190.0)}
# Grid spacing in the unit scale the shapes are built in (body ~ 2 units).
_SPACING = 0.05
_HALF_TURN_Z = np.diag([-1.0, -1.0, 1.0])


@dataclass
class SyntheticObject:
    """One procedural object model.

    Attributes:
        obj_id: object id (1-based, as in BOP).
        name: readable name, e.g. ``'gadget01'``.
        kind: ``'gadget'``, ``'crate'`` or ``'tube'``.
        mesh: model in mm, centred on its bounding box (symmetric kinds keep
            their axis on x = y = 0); float32-exact vertices, as the PLY
            file stores them.
        symmetries_discrete: BOP entries, each a row-major 4x4 transform
            (translation in mm) flattened to 16 floats.
        symmetries_continuous: BOP entries ``{'axis': [..], 'offset': [..]}``.
        diameter: largest distance between two model vertices (mm).
    """

    obj_id: int
    name: str
    kind: str
    mesh: Mesh
    symmetries_discrete: List[List[float]] = field(default_factory=list)
    symmetries_continuous: List[Dict[str, List[float]]] = field(
        default_factory=list)
    diameter: float = field(init=False)

    def __post_init__(self) -> None:
        self.diameter = points_diameter(self.mesh.vertices)

    @property
    def symmetric(self) -> bool:
        """Whether BOP would treat the object as symmetric."""
        return bool(self.symmetries_discrete or self.symmetries_continuous)

    def models_info(self) -> dict:
        """The object's ``models_info.json`` entry (BOP fields)."""
        v = self.mesh.vertices
        lo, hi = v.min(0), v.max(0)
        info = {'diameter': self.diameter,
                'min_x': float(lo[0]), 'min_y': float(lo[1]),
                'min_z': float(lo[2]), 'size_x': float(hi[0] - lo[0]),
                'size_y': float(hi[1] - lo[1]),
                'size_z': float(hi[2] - lo[2])}
        if self.symmetries_discrete:
            info['symmetries_discrete'] = self.symmetries_discrete
        if self.symmetries_continuous:
            info['symmetries_continuous'] = self.symmetries_continuous
        return info

    def write_model(self, path: Path) -> None:
        """Write the mesh as a binary PLY (mm, vertex normals and colours).
        """
        m = self.mesh
        colors = np.concatenate(
            [m.colors, np.full((len(m.colors), 1), 255, np.uint8)], 1)
        mesh = trimesh.Trimesh(vertices=m.vertices, faces=m.faces,
                               vertex_normals=m.normals,
                               vertex_colors=colors, process=False)
        path.write_bytes(trimesh.exchange.ply.export_ply(
            mesh, encoding='binary', vertex_normal=True))


def make_object(obj_id: int, seed: int) -> SyntheticObject:
    """Build object ``obj_id`` of the set generated with ``seed`` (the same
    model whatever the number of objects in the set)."""
    kind = KIND_CYCLE[(obj_id - 1) % len(KIND_CYCLE)]
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1, obj_id]))
    builder = {'gadget': _gadget, 'crate': _crate, 'tube': _tube}[kind]
    mesh, sym_discrete, sym_continuous = builder(rng)
    lo, hi = mesh.vertices.min(0), mesh.vertices.max(0)
    centre = (lo + hi) / 2.0
    if kind != 'gadget':
        centre[:2] = 0.0  # keep the symmetry axis exactly on x = y = 0
    low, high = DIAMETER_RANGE[kind]
    target = rng.uniform(low, high)
    scale = target / points_diameter(mesh.vertices)
    mesh = mesh.transformed(np.eye(3) * scale, -centre * scale)
    mesh.vertices = mesh.vertices.astype(np.float32).astype(np.float64)
    return SyntheticObject(obj_id, f'{kind}{obj_id:02d}', kind, mesh,
                           sym_discrete, sym_continuous)


def make_objects(num_objects: int, seed: int) -> List[SyntheticObject]:
    """Objects 1..num_objects of the set generated with ``seed``."""
    return [make_object(i, seed) for i in range(1, num_objects + 1)]


# --------------------------------------------------------------- builders
_Built = Tuple[Mesh, List[List[float]], List[Dict[str, List[float]]]]


def _gadget(rng: np.random.Generator) -> _Built:
    """Asymmetric body with a head and limbs and a pattern across it."""
    ext = np.array([1.0, rng.uniform(0.5, 0.85), rng.uniform(0.4, 0.75)])
    body_kind = rng.choice(['box', 'ellipsoid', 'capsule', 'cylinder'])
    if body_kind == 'box':
        body = meshes.box(2 * ext, _SPACING)
    elif body_kind == 'ellipsoid':
        body = meshes.sphere(1.0, _SPACING).transformed(np.diag(ext))
    elif body_kind == 'capsule':
        radius = float(np.mean(ext[1:]))
        body = meshes.capsule(radius, 2.0 - 2 * radius, _SPACING)
        body = body.transformed(rotation_to([1.0, 0.0, 0.0]))
        ext = np.array([1.0, radius, radius])
    else:
        body = meshes.cylinder(ext[1], 2 * ext[2], _SPACING)
        ext = np.array([ext[1], ext[1], ext[2]])
    parts = [body]
    directions: List[np.ndarray] = []
    for k in range(int(rng.integers(3, 6))):
        d = _fresh_direction(rng, directions)
        directions.append(d)
        # anchor on the ellipsoid inscribed in the body
        anchor = d / np.sqrt(((d / ext)**2).sum())
        # the first part is a large "head" that no rotation can hide
        part_kind = (rng.choice(['sphere', 'box']) if k == 0 else
                     rng.choice(['sphere', 'cylinder', 'cone', 'box']))
        scale = 1.6 if k == 0 else 1.0
        if part_kind == 'sphere':
            r = scale * rng.uniform(0.2, 0.35)
            part = meshes.sphere(r, _SPACING).transformed(
                np.eye(3), anchor + 0.6 * r * d)
        elif part_kind in ('cylinder', 'cone'):
            r = rng.uniform(0.08, 0.2)
            length = rng.uniform(0.4, 0.9)
            top = r if part_kind == 'cylinder' else rng.uniform(0.0, 0.5) * r
            part = meshes.cylinder(r, length, _SPACING, top_radius=top)
            part = part.transformed(rotation_to(d),
                                    anchor + 0.4 * length * d)
        else:
            size = scale * rng.uniform(0.25, 0.5, size=3)
            part = meshes.box(size, _SPACING).transformed(
                random_rotation(rng), anchor + 0.35 * size.min() * d)
        parts.append(part)
    painted = [_paint(p, rng, plain=(i > 0)) for i, p in enumerate(parts)]
    mesh = meshes.concatenate(painted)
    mesh = mesh.painted(_spots(mesh, rng))
    return mesh, [], []


def _fresh_direction(rng: np.random.Generator,
                     taken: List[np.ndarray]) -> np.ndarray:
    """A random unit vector neither close to nor opposite any taken one
    (opposite pairs would look half-turn symmetric)."""
    for _ in range(100):
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        if all(abs(float(d @ e)) < 0.8 for e in taken):
            return d
    return d


def _crate(rng: np.random.Generator) -> _Built:
    """Eggbox-like box: half built, then joined with its half-turned copy."""
    a, b = 1.0, rng.uniform(0.55, 0.75)
    h = rng.uniform(0.3, 0.45)
    s = _SPACING
    na, nb, nh = (max(1, int(np.ceil(x / s))) for x in (a, 2 * b, 2 * h))
    half = [
        meshes.grid_patch((a, -b, -h), (0, 2 * b, 0), (0, 0, 2 * h), nb, nh),
        meshes.grid_patch((0, b, -h), (0, 0, 2 * h), (a, 0, 0), nh, na),
        meshes.grid_patch((0, -b, -h), (a, 0, 0), (0, 0, 2 * h), na, nh),
        meshes.grid_patch((0, -b, h), (a, 0, 0), (0, 2 * b, 0), na, nb),
        meshes.grid_patch((0, -b, -h), (0, 2 * b, 0), (a, 0, 0), nb, na),
    ]
    # egg bumps on the lid: a column of domes at x > 0 (mirrored below)
    rows = int(rng.integers(2, 4))
    radius = min(0.8 * b / rows, 0.3 * a)
    height = rng.uniform(0.5, 0.9) * radius
    n_arc = max(4, int(np.ceil(np.pi * radius / 2 / s)))
    angles = np.linspace(0.0, np.pi / 2, n_arc + 1)
    dome_prof = [(radius * np.cos(t) if t < np.pi / 2 else 0.0,
                  height * np.sin(t)) for t in angles]
    sections = 2 * max(8, int(np.ceil(np.pi * radius / s)))
    dome = meshes.lathe([dome_prof], sections)
    ys = (np.arange(rows) - (rows - 1) / 2.0) * (2 * b / rows)
    for y in ys:
        half.append(dome.transformed(np.eye(3), (a / 2.0, y, h)))
    half_mesh = meshes.concatenate([_paint(p, rng) for p in half])
    half_mesh = half_mesh.painted(_spots(half_mesh, rng))
    mesh = meshes.concatenate([half_mesh, half_mesh.transformed(_HALF_TURN_Z)])
    sym = np.eye(4)
    sym[:3, :3] = _HALF_TURN_Z
    return mesh, [[float(x) for x in sym.ravel()]], []


def _tube(rng: np.random.Generator) -> _Built:
    """Glue-like bottle: surface of revolution painted with bands."""
    s = _SPACING
    radius = rng.uniform(0.3, 0.4)
    body_h = rng.uniform(1.3, 1.7)
    neck_r = rng.uniform(0.35, 0.6) * radius
    shoulder = rng.uniform(0.1, 0.25)
    neck_h = rng.uniform(0.15, 0.35)
    top = body_h + shoulder + neck_h
    segments = [
        meshes.line((0.0, 0.0), (radius, 0.0), s),
        meshes.line((radius, 0.0), (radius, body_h), s),
        meshes.line((radius, body_h), (neck_r, body_h + shoulder), s),
        meshes.line((neck_r, body_h + shoulder), (neck_r, top), s),
        meshes.line((neck_r, top), (0.0, top), s),
    ]
    sections = 2 * int(np.ceil(np.pi * radius / s))
    mesh = meshes.lathe(segments, sections)
    z = mesh.vertices[:, 2] / top
    palette = _palette(rng, 4)
    colors = np.empty((len(z), 3))
    edges = np.sort(rng.uniform(0.15, 0.8, size=2))
    colors[:] = palette[0]
    label = (z > edges[0]) & (z < edges[1])
    colors[label] = palette[1]
    stripes = np.sin(2 * np.pi * z / rng.uniform(0.04, 0.08)) > 0.6
    colors[label & stripes] = palette[2]
    colors[z > body_h / top] = palette[3]
    shade = 0.85 + 0.15 * np.cos(2 * np.pi * z * rng.uniform(1.0, 3.0))
    mesh = mesh.painted(_to_uint8(colors * shade[:, None]))
    return mesh, [], [{'axis': [0.0, 0.0, 1.0], 'offset': [0.0, 0.0, 0.0]}]


# --------------------------------------------------------------- painting
def _palette(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` saturated-ish random colours in [0, 1]."""
    hue = (rng.uniform() + np.arange(n) / n + rng.uniform(-0.08, 0.08, n)) % 1
    sat = rng.uniform(0.35, 0.9, n)
    val = rng.uniform(0.35, 0.95, n)
    k = (hue[:, None] * 6 + np.array([5.0, 3.0, 1.0])) % 6
    chroma = np.clip(np.minimum(k, 4 - k), 0, 1)
    return val[:, None] * (1 - sat[:, None] * chroma)


def _paint(mesh: Mesh, rng: np.random.Generator,
           plain: bool = True) -> Mesh:
    """Base colour with stripes or checks and a soft gradient.

    ``plain=False`` always draws a pattern (used for bodies).
    """
    p = mesh.vertices
    base, second = _palette(rng, 2)
    colors = np.broadcast_to(base, p.shape).copy()
    pattern = rng.choice(['plain', 'stripes', 'checks'],
                         p=[0.3, 0.45, 0.25] if plain else [0.0, 0.6, 0.4])
    d = rng.normal(size=3)
    d /= np.linalg.norm(d)
    if pattern == 'stripes':
        period = rng.uniform(0.1, 0.3)
        on = np.sin(2 * np.pi * (p @ d) / period + rng.uniform(0, 6.3)) > 0.2
        colors[on] = second
    elif pattern == 'checks':
        e = random_rotation(rng)
        cell = rng.uniform(0.08, 0.2)
        idx = np.floor((p @ e[:, :2]) / cell).astype(np.int64).sum(1)
        colors[idx % 2 == 1] = second
    g = rng.normal(size=3)
    proj = p @ (g / np.linalg.norm(g))
    span = max(float(np.ptp(proj)), 1e-6)
    colors *= (0.8 + 0.35 * (proj - proj.min()) / span)[:, None]
    colors *= rng.uniform(0.94, 1.06, size=(len(p), 1))  # print noise
    return mesh.painted(_to_uint8(colors))


def _spots(mesh: Mesh, rng: np.random.Generator) -> np.ndarray:
    """Colours with a few round spots painted across the whole mesh."""
    colors = mesh.colors.astype(np.float64) / 255.0
    for c in _palette(rng, int(rng.integers(3, 8))):
        centre = mesh.vertices[rng.integers(len(mesh.vertices))]
        radius = rng.uniform(0.06, 0.2)
        inside = np.linalg.norm(mesh.vertices - centre, axis=1) < radius
        colors[inside] = c
    return _to_uint8(colors)


def _to_uint8(colors: np.ndarray) -> np.ndarray:
    return np.clip(np.round(colors * 255.0), 0, 255).astype(np.uint8)
