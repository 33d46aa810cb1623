"""``ObjectTable``: model points, diameters, symmetry flags and names of the
objects, one table shared by the model, the metric and the visualiser."""
import functools
import os
from typing import (
    Any,
    Dict,
    Iterable,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np
import torch

from posessl.errors import DataError

from .bop_models import (
    CLASSIC_SYMMETRIC_OBJ_IDS,
    load_model_points,
    object_names,
    read_bop_models,
)

__all__ = ['ObjectTable', 'build_object_table']


def _lookup(obj_ids: Sequence[int]) -> torch.Tensor:
    """``lookup[obj_id] = row``; every other id up to ``max + 1`` maps to
    ``len(obj_ids)``."""
    size = (max(obj_ids) if obj_ids else 0) + 2
    lookup = torch.full((size, ), len(obj_ids), dtype=torch.int64)
    for row, obj_id in enumerate(obj_ids):
        lookup[obj_id] = row
    return lookup


class ObjectTable:
    """Model points, diameters, symmetry flags and names, one row per object.

    Read it from a BOP ``models`` folder (:meth:`from_models_dir`), build it
    from a dataset metainfo (:meth:`from_metainfo`), or give it directly.

    Attributes:
        obj_ids: Object ids, row order.
        names: Names, row order.
        points: (K, P, 3) float32 model points, mm; row ``k`` holds
            ``counts[k]`` points, then zeros.
        counts: (K,) int64 points per row.
        diameters: (K,) float64, mm.
        symmetric: (K,) bool, scored and trained in the symmetric (ADD-S)
            form.
        lookup: (max id + 2,) int64, ``lookup[obj_id]`` is the row; ids not
            in the table map to ``K`` (see :meth:`rows`).
        models_dir: The absolute BOP ``models`` folder it was read from, or
            None.

    Args:
        points: ``{obj_id: (N, 3) mm}``, non-empty and finite.
        diameters: ``{obj_id: mm}`` (positive) for every object of
            ``points``.
        symmetric_obj_ids: Objects in the symmetric form (others ignored).
        names: ``{obj_id: name}``; missing ones from LINEMOD's table, else
            ``obj_000042``.
        obj_ids: Row order (default: sorted ids of ``points``).
        source: Where the information came from, for error messages.

    Raises:
        ValueError: a missing or bad entry (the message names ``source``
            and the object).
    """

    def __init__(self,
                 points: Mapping[int, np.ndarray],
                 diameters: Mapping[int, float],
                 symmetric_obj_ids: Iterable[int] = (),
                 names: Optional[Mapping[int, str]] = None,
                 obj_ids: Optional[Sequence[int]] = None,
                 source: str = 'the object table') -> None:
        points = {int(k): v for k, v in points.items()}
        diameters = {int(k): v for k, v in diameters.items()}
        ids = tuple(int(i) for i in obj_ids) if obj_ids is not None \
            else tuple(sorted(points))
        if any(i < 0 for i in ids):
            raise ValueError(f'{source}: object ids must not be negative, '
                             f'got {ids}')
        arrays = []
        for obj_id in ids:
            if obj_id not in points:
                raise ValueError(f'{source}: no model points for object '
                                 f'{obj_id}')
            pts = np.asarray(points[obj_id], dtype=np.float32)
            if pts.ndim != 2 or pts.shape[1] != 3 or not len(pts):
                raise ValueError(f'{source}: model points of object '
                                 f'{obj_id} must be a non-empty (N, 3) '
                                 f'array, got shape {pts.shape}')
            if not np.isfinite(pts).all():
                raise ValueError(f'{source}: model points of object '
                                 f'{obj_id} hold NaN or inf')
            diameter = diameters.get(obj_id)
            try:
                ok = diameter is not None and float(diameter) > 0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f'{source}: object {obj_id} needs a '
                                 f'positive diameter, got {diameter!r}')
            arrays.append(pts)
        width = max((len(p) for p in arrays), default=0)
        padded = np.zeros((len(ids), width, 3), dtype=np.float32)
        for row, pts in enumerate(arrays):
            padded[row, :len(pts)] = pts
        chosen = {int(i) for i in symmetric_obj_ids}
        self.obj_ids: Tuple[int, ...] = ids
        self.names: Tuple[str, ...] = object_names(ids, names)
        self.points = torch.from_numpy(padded)
        self.counts = torch.tensor([len(p) for p in arrays],
                                   dtype=torch.int64)
        self.diameters = torch.tensor(
            [float(diameters[i]) for i in ids], dtype=torch.float64)
        self.symmetric = torch.tensor([i in chosen for i in ids],
                                      dtype=torch.bool)
        self.lookup = _lookup(ids)
        self.source = source
        self.models_dir: Optional[str] = None
        self._rows: Dict[int, int] = {i: r for r, i in enumerate(ids)}

    # ------------------------------------------------------------ builders
    @classmethod
    def from_metainfo(cls, metainfo: Mapping,
                      symmetric_obj_ids: Optional[Iterable[int]] = None
                      ) -> 'ObjectTable':
        """The table of a dataset metainfo (``model_points``, ``diameters``,
        optional ``symmetric_obj_ids``, ``obj_ids``, ``classes``).

        Args:
            metainfo: The dataset metainfo.
            symmetric_obj_ids: Overrides the metainfo's; without either,
                the classic LINEMOD set (eggbox, glue).

        Raises:
            KeyError: ``model_points`` or ``diameters`` is missing.
        """
        name = metainfo.get('dataset_name', 'the dataset')
        missing = [k for k in ('model_points', 'diameters')
                   if metainfo.get(k) is None]
        if missing:
            raise KeyError(f'metainfo of {name} lacks {missing}: the pose '
                           'model and metric need model points and '
                           'diameters')
        if symmetric_obj_ids is None:
            symmetric_obj_ids = metainfo.get('symmetric_obj_ids',
                                             CLASSIC_SYMMETRIC_OBJ_IDS)
        points = {int(k): v for k, v in metainfo['model_points'].items()}
        order = [int(i) for i in metainfo.get('obj_ids', ())
                 if int(i) in points]
        order += sorted(set(points) - set(order))
        names = None
        if 'obj_ids' in metainfo and 'classes' in metainfo:
            names = dict(zip((int(i) for i in metainfo['obj_ids']),
                             metainfo['classes']))
        return cls(points, metainfo['diameters'], symmetric_obj_ids,
                   names=names, obj_ids=order,
                   source=f'metainfo of {name}')

    @classmethod
    def from_models_dir(cls, models_dir: str, num_points: int = 3000,
                        symmetric_obj_ids: Optional[Iterable[int]] = None
                        ) -> 'ObjectTable':
        """The table of a BOP ``models`` folder, read as the datasets read
        it (:func:`~posessl.structures.bop_models.read_bop_models`); objects
        without an ``obj_XXXXXX.ply`` are left out.

        Cached per process: the same real path (while its
        ``models_info.json`` is unchanged) and arguments give the same
        table object, so treat it as read-only.

        Args:
            models_dir: The folder.
            num_points: At most this many points per object (the
                datasets' deterministic sample).
            symmetric_obj_ids: Overrides what the files say.

        Raises:
            DataError: the folder does not exist.
        """
        if not os.path.isdir(models_dir):
            raise DataError(f'{models_dir}: models folder not found')
        folder = os.path.realpath(models_dir)
        info = os.path.join(folder, 'models_info.json')
        stamp = os.stat(info).st_mtime_ns if os.path.isfile(info) else 0
        symmetric = None if symmetric_obj_ids is None else tuple(
            sorted({int(i) for i in symmetric_obj_ids}))
        return _read_models_dir(folder, int(num_points), symmetric, stamp)

    def subsample(self, num_points: int) -> 'ObjectTable':
        """The same objects with exactly ``num_points`` points each: a
        deterministic sample (seeded with the object id, order kept) where
        an object has more, its points repeated in order where it has
        fewer.

        Raises:
            ValueError: ``num_points`` is not positive.
        """
        if num_points < 1:
            raise ValueError(f'num_points must be positive, got {num_points}')
        points = {}
        for obj_id in self.obj_ids:
            pts = self.object_points(obj_id)
            rng = np.random.default_rng(obj_id)
            if len(pts) >= num_points:
                index = np.sort(rng.choice(len(pts), num_points,
                                           replace=False))
            else:
                index = np.resize(np.arange(len(pts)), num_points)
            points[obj_id] = pts[index]
        diameters = dict(zip(self.obj_ids, self.diameters.tolist()))
        return ObjectTable(points, diameters, self.symmetric_obj_ids,
                           names=dict(zip(self.obj_ids, self.names)),
                           obj_ids=self.obj_ids, source=self.source)

    # ------------------------------------------------------------- lookups
    def __len__(self) -> int:
        return len(self.obj_ids)

    def __contains__(self, obj_id: int) -> bool:
        return int(obj_id) in self._rows

    @property
    def symmetric_obj_ids(self) -> Tuple[int, ...]:
        """Ids of the symmetric objects, row order."""
        return tuple(i for i, s in zip(self.obj_ids, self.symmetric.tolist())
                     if s)

    def row(self, obj_id: int) -> int:
        """Row of ``obj_id``.

        Raises:
            KeyError: the table has no such object (the message lists the
                ones it has).
        """
        row = self._rows.get(int(obj_id))
        if row is None:
            raise KeyError(f'{self.source} has no object {int(obj_id)} '
                           f'(it has {list(self.obj_ids)})')
        return row

    def rows(self, obj_ids: torch.Tensor,
             lookup: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Rows of a tensor of ids, on its device, without a host
        synchronisation; ids not in the table give row ``len(self)``.
        ``lookup``: :attr:`lookup` already on that device."""
        if lookup is None:
            lookup = self.lookup.to(obj_ids.device)
        outside = (obj_ids < 0) | (obj_ids >= len(lookup))
        return lookup[torch.where(outside, len(lookup) - 1, obj_ids)]

    def object_points(self, obj_id: int) -> np.ndarray:
        """(N, 3) float32 model points of ``obj_id``, mm."""
        row = self.row(obj_id)
        return self.points[row, :int(self.counts[row])].numpy()

    def diameter(self, obj_id: int) -> float:
        """Diameter of ``obj_id``, mm."""
        return float(self.diameters[self.row(obj_id)])

    def is_symmetric(self, obj_id: int) -> bool:
        """Whether ``obj_id`` is scored in the symmetric form."""
        return bool(self.symmetric[self.row(obj_id)])

    def name(self, obj_id: int) -> str:
        """Name of ``obj_id``."""
        return self.names[self.row(obj_id)]

    def __repr__(self) -> str:
        return (f'ObjectTable({len(self)} objects {list(self.obj_ids)}, '
                f'symmetric {list(self.symmetric_obj_ids)}, from '
                f'{self.source})')


@functools.lru_cache(maxsize=16)
def _read_models_dir(folder: str, num_points: int,
                     symmetric_obj_ids: Optional[Tuple[int, ...]],
                     stamp: int) -> ObjectTable:
    """:meth:`ObjectTable.from_models_dir`, cached (``stamp``: the info
    file's modification time, so a rewritten folder is read again)."""
    info = read_bop_models(folder)
    paths = {i: p for i, p in info['model_paths'].items()
             if os.path.isfile(p)}
    points = {i: load_model_points(p, num_points) for i, p in paths.items()}
    if symmetric_obj_ids is None:
        symmetric_obj_ids = info['symmetric_obj_ids']
    table = ObjectTable(points, info['diameters'], symmetric_obj_ids,
                        names=info['names'], obj_ids=sorted(points),
                        source=f'models_dir {folder}')
    table.models_dir = folder
    return table


_OBJECTS_KEYS = ('models_dir', 'num_points', 'symmetric_obj_ids')


def build_object_table(objects: Union[ObjectTable, Mapping[str, Any]],
                       where: str = 'objects') -> ObjectTable:
    """The table ``objects`` describes: an :class:`ObjectTable` as is;
    ``dict(models_dir=..., num_points=3000, symmetric_obj_ids=None)``
    through :meth:`ObjectTable.from_models_dir`; a dataset metainfo through
    its ``models_dir`` where it names one, else
    :meth:`ObjectTable.from_metainfo`.

    Raises:
        ValueError: ``objects`` is none of these (the message names
            ``where``).
    """
    if isinstance(objects, ObjectTable):
        return objects
    if not isinstance(objects, Mapping):
        raise ValueError(f'{where}: expected an ObjectTable or a dict, got '
                         f'{type(objects).__name__}')
    if 'model_points' in objects:  # a dataset metainfo
        if objects.get('models_dir'):
            return ObjectTable.from_models_dir(objects['models_dir'])
        return ObjectTable.from_metainfo(objects)
    unknown = sorted(set(objects) - set(_OBJECTS_KEYS))
    if unknown or not objects.get('models_dir'):
        raise ValueError(
            f'{where}: expected dict(models_dir=<BOP models folder>, '
            f'num_points=3000, symmetric_obj_ids=None), got keys '
            f'{sorted(objects)}')
    return ObjectTable.from_models_dir(**objects)
