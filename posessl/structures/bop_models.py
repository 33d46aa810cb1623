"""Object models: LINEMOD names, model points, diameters, BOP models info.

Millimetres throughout: a model or diameter below 1 is refused as metres.
"""
import os
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

import numpy as np

from posessl.errors import DataError

from .io import int_keyed, read_json, require_file

__all__ = [
    'LINEMOD_OBJECTS', 'CLASSIC_SYMMETRIC_OBJ_IDS', 'object_names',
    'read_model', 'load_model_points', 'load_model_mesh', 'check_diameter',
    'points_diameter', 'model_file',
    'read_dataset_info', 'default_symmetric', 'names_from_dataset_info',
    'read_bop_models'
]

#: LINEMOD object ids and names (BOP ``lm`` numbering).
LINEMOD_OBJECTS: Dict[int, str] = {
    1: 'ape',
    2: 'benchvise',
    3: 'bowl',
    4: 'cam',
    5: 'can',
    6: 'cat',
    7: 'cup',
    8: 'driller',
    9: 'duck',
    10: 'eggbox',
    11: 'glue',
    12: 'holepuncher',
    13: 'iron',
    14: 'lamp',
    15: 'phone',
}

#: Objects scored with ADD-S in the classic 13-object LINEMOD protocol.
CLASSIC_SYMMETRIC_OBJ_IDS: Tuple[int, ...] = (10, 11)

#: Below this size (mm) a model or diameter is taken to be in metres.
_METRES_THRESHOLD = 1.0


def object_names(obj_ids: Iterable[int],
                 names: Optional[Mapping[int, str]] = None
                 ) -> Tuple[str, ...]:
    """Names of ``obj_ids``, from ``names`` else LINEMOD's table.

    Ids found in neither are named ``obj_000042``.
    """
    table = dict(LINEMOD_OBJECTS)
    if names:
        table.update({int(k): str(v) for k, v in names.items()})
    return tuple(table.get(i, f'obj_{i:06d}') for i in obj_ids)


def check_diameter(diameter: float, source: str, obj_id: int) -> float:
    """Validate an object diameter read from ``source`` (mm).

    Raises:
        DataError: the diameter is not a positive number, or is below 1,
            which means the model is in metres.
    """
    try:
        value = float(diameter)
    except (TypeError, ValueError):
        raise DataError(f'{source}: diameter of object {obj_id} is not a '
                        f'number: {diameter!r}') from None
    if not np.isfinite(value) or value <= 0:
        raise DataError(f'{source}: diameter of object {obj_id} must be '
                        f'positive, got {value}')
    if value < _METRES_THRESHOLD:
        raise DataError(f'{source}: diameter of object {obj_id} is {value}, '
                        'which looks like metres; millimetres are expected')
    return value


def points_diameter(points: np.ndarray) -> float:
    """Largest distance between two of ``points`` (N, 3), searched over the
    convex hull's vertices (over all points for a flat set)."""
    from scipy.spatial import ConvexHull
    from scipy.spatial.distance import cdist

    pts = np.asarray(points, dtype=np.float64)
    try:
        pts = pts[ConvexHull(pts).vertices]
    except Exception:  # flat, or fewer than four points: keep them all
        pass
    return max((float(cdist(pts[start:start + 512], pts).max())
                for start in range(0, len(pts), 512)), default=0.0)


def read_model(path: str) -> Any:
    """The trimesh geometry of a PLY model with checked, millimetre
    vertices (one-line errors naming the file)."""
    import trimesh

    require_file(path, 'model file')
    try:
        geom = trimesh.load(path, process=False)
        vertices = np.asarray(geom.vertices, dtype=np.float64)
    except Exception as e:  # trimesh raises many types for broken files
        raise DataError(f'{path}: cannot read the model ({e})') from None
    if vertices.ndim != 2 or vertices.shape[0] == 0:
        raise DataError(f'{path}: the model has no vertices')
    if not np.all(np.isfinite(vertices)):
        raise DataError(f'{path}: the model has non-finite vertices')
    extent = float((vertices.max(0) - vertices.min(0)).max())
    if extent < _METRES_THRESHOLD:
        raise DataError(f'{path}: the model is {extent:g} units across, '
                        'which looks like metres; millimetres are expected')
    return geom


def load_model_points(path: str, num_points: int = 3000,
                      seed: int = 0) -> np.ndarray:
    """Deterministic sample of a PLY model's vertices, in millimetres:
    all of them up to ``num_points``, else ``num_points`` distinct ones
    drawn with ``seed``, in file order.

    Returns:
        (N, 3) float32 array, ``N <= num_points``.

    Raises:
        FileNotFoundError: the model file does not exist.
        DataError: the file cannot be parsed, has no vertices, or is in
            metres.
    """
    vertices = np.asarray(read_model(path).vertices, dtype=np.float64)
    if len(vertices) > num_points:
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(vertices), num_points, replace=False))
        vertices = vertices[keep]
    return vertices.astype(np.float32)


def load_model_mesh(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """``(vertices (N, 3) float64 mm, faces (M, 3) int64)`` of a PLY model.

    Raises:
        FileNotFoundError: the model file does not exist.
        DataError: unreadable, no vertices or no faces, or in metres.
    """
    geom = read_model(path)
    faces = np.asarray(getattr(geom, 'faces', np.zeros((0, 3))),
                       dtype=np.int64)
    if faces.ndim != 2 or faces.shape[0] == 0 or faces.shape[1] != 3:
        raise DataError(f'{path}: the model has no triangle faces (a mesh '
                        'is needed to draw its silhouette)')
    return np.asarray(geom.vertices, dtype=np.float64), faces


def model_file(models_dir: str, obj_id: int, digits: int) -> str:
    """Path of ``obj_<id>.ply`` with ``digits`` zero-padded digits."""
    return os.path.join(models_dir, f'obj_{obj_id:0{digits}d}.ply')


def read_dataset_info(root: str) -> Tuple[str, Optional[dict]]:
    """``(path, contents)`` of ``<root>/dataset_info.json`` (contents
    ``None`` where the file is absent; the synthetic generator writes it)."""
    path = os.path.join(root, 'dataset_info.json')
    if not os.path.isfile(path):
        return path, None
    info = read_json(path)
    if not isinstance(info, dict):
        raise DataError(f'{path}: expected a JSON object')
    return path, info


def default_symmetric(dataset_info: Optional[dict],
                      models_info: Mapping[int, Mapping[str, Any]],
                      ) -> Tuple[int, ...]:
    """Symmetric objects as the data declares them.

    Priority: ``dataset_info['symmetric_obj_ids']``; else objects with
    ``symmetries_discrete`` or ``symmetries_continuous`` in the models'
    info (BOP); else the classic LINEMOD ADD-S set (eggbox, glue).
    """
    if dataset_info and 'symmetric_obj_ids' in dataset_info:
        return tuple(int(i) for i in dataset_info['symmetric_obj_ids'])
    declared = tuple(
        i for i, entry in models_info.items()
        if isinstance(entry, Mapping) and (entry.get('symmetries_discrete')
                                           or entry.get(
                                               'symmetries_continuous')))
    if declared:
        return declared
    return CLASSIC_SYMMETRIC_OBJ_IDS


def names_from_dataset_info(dataset_info: Optional[dict],
                            path: str) -> Optional[Dict[int, str]]:
    """Object names from ``dataset_info['objects']``.

    Accepted forms: ``{"1": "ape", ...}``, ``{"1": {"name": "ape"}, ...}``,
    or ``[{"obj_id": 1, "name": "ape"}, ...]`` (``id`` also accepted).

    Raises:
        DataError: ``objects`` has another form.
    """
    if not dataset_info or 'objects' not in dataset_info:
        return None
    objects = dataset_info['objects']
    names: Dict[int, str] = {}
    try:
        if isinstance(objects, Mapping):
            for key, value in objects.items():
                name = value['name'] if isinstance(value, Mapping) else value
                names[int(key)] = str(name)
        else:
            for entry in objects:
                key = entry.get('obj_id', entry.get('id'))
                names[int(key)] = str(entry['name'])
    except (TypeError, ValueError, KeyError, AttributeError):
        raise DataError(f"{path}: 'objects' must map object ids to names"
                        ) from None
    return names


def read_bop_models(models_dir: str,
                    obj_ids: Optional[Iterable[int]] = None) -> dict:
    """What a BOP ``models`` folder says about its objects.

    Reads ``<models_dir>/models_info.json`` (diameters, symmetries) and the
    optional ``dataset_info.json`` next to the folder (names, symmetric ids,
    dataset name); the PLY files are not opened.

    Args:
        models_dir: The BOP ``models`` folder.
        obj_ids: Objects to describe (default: all in the info file).

    Returns:
        ``obj_ids`` (sorted tuple), ``diameters`` ({id: mm}),
        ``model_paths`` ({id: ``obj_XXXXXX.ply``}), ``names`` ({id: name}
        or None), ``symmetric_obj_ids`` (:func:`default_symmetric`) and
        ``dataset_name`` (the info's ``name``, else the root folder's),
        ``models_dir`` (the folder, absolute).

    Raises:
        DataError: an object has no entry or no valid diameter.
    """
    info_path = os.path.join(models_dir, 'models_info.json')
    models_info = int_keyed(read_json(info_path), info_path)
    root = os.path.dirname(os.path.normpath(os.path.abspath(models_dir)))
    ds_path, dataset_info = read_dataset_info(root)
    if obj_ids is None:
        ids = tuple(sorted(models_info))
    else:
        ids = tuple(sorted({int(i) for i in obj_ids}))
    diameters: Dict[int, float] = {}
    for i in ids:
        entry = models_info.get(i)
        if not isinstance(entry, dict):
            raise DataError(f'{info_path}: no entry for object {i}')
        if 'diameter' not in entry:
            raise DataError(f'{info_path}: object {i} has no diameter')
        diameters[i] = check_diameter(entry['diameter'], info_path, i)
    name = (dataset_info or {}).get('name') or os.path.basename(root)
    return dict(
        obj_ids=ids,
        diameters=diameters,
        model_paths={i: model_file(models_dir, i, 6) for i in ids},
        names=names_from_dataset_info(dataset_info, ds_path),
        symmetric_obj_ids=default_symmetric(dataset_info, models_info),
        dataset_name=str(name),
        models_dir=os.path.abspath(models_dir))
