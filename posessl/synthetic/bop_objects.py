"""Real object models from a BOP ``models`` folder, rendered like the
procedural ones and copied unchanged into the generated set."""
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from ..errors import DataError
from ..rendering import Mesh
from ..structures.bop_models import check_diameter, object_names, read_model
from ..structures.io import read_json
from .objects import SyntheticObject

#: Largest relative difference between a model's ``models_info`` diameter
#: and its vertices' diameter.
DIAMETER_TOLERANCE = 0.02


@dataclass
class BOPObject(SyntheticObject):
    """A real object model read from a BOP models folder.

    Attributes:
        source: the PLY file the mesh was read from.
        info: the object's ``models_info.json`` entry, unchanged.
    """

    source: Path = field(default=Path())
    info: dict = field(default_factory=dict)

    def models_info(self) -> dict:
        """The source's own ``models_info.json`` entry."""
        return dict(self.info)

    def write_model(self, path: Path) -> None:
        """Copy the source PLY file to ``path`` (bytes unchanged)."""
        shutil.copyfile(self.source, path)


def load_bop_objects(models_dir: str,
                     obj_ids: Optional[Sequence[int]] = None
                     ) -> List[BOPObject]:
    """Read objects of a BOP models folder (``models_info.json`` and
    ``obj_<id:06d>.ply`` with vertex colours, millimetres).

    Args:
        models_dir: the folder, e.g. ``lmo/models``.
        obj_ids: which objects (default: every object ``models_info.json``
            lists), in this order.

    Raises:
        DataError / FileNotFoundError: one line naming the file and the
            problem (missing file, no vertex colours, metres, a diameter
            that does not match the vertices, an id ``models_info.json``
            does not list).
    """
    folder = Path(models_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f'{folder}: models folder not found')
    info_path = folder / 'models_info.json'
    infos = read_json(str(info_path))
    if not isinstance(infos, dict) or not infos:
        raise DataError(f'{info_path}: expected an object of per-object '
                        'entries keyed by object id')
    try:
        listed = sorted(int(k) for k in infos)
    except ValueError:
        raise DataError(f'{info_path}: object ids must be whole numbers, '
                        f'got {sorted(infos)}') from None
    ids = listed if obj_ids is None else [int(i) for i in obj_ids]
    missing = sorted(set(ids) - set(listed))
    if missing:
        raise DataError(f'{info_path}: no entry for object(s) {missing} '
                        f'(it lists {listed})')
    names = object_names(ids)
    return [_load_object(folder, i, infos[str(i)], name, info_path)
            for i, name in zip(ids, names)]


def _load_object(folder: Path, obj_id: int, info: dict, name: str,
                 info_path: Path) -> BOPObject:
    """One model, with its colours, normals and checked units."""
    path = folder / f'obj_{obj_id:06d}.ply'
    if not path.is_file():
        raise FileNotFoundError(f'{path}: model file not found (listed in '
                                f'{info_path})')
    mesh = read_model(str(path))  # millimetres, finite vertices
    faces = np.asarray(getattr(mesh, 'faces', np.zeros((0, 3))), np.int64)
    if len(faces) == 0:
        raise DataError(f'{path}: the model has no faces (a mesh is needed '
                        'to render it)')
    if getattr(mesh.visual, 'kind', None) != 'vertex':
        raise DataError(f'{path}: the model has no vertex colours '
                        '(red/green/blue vertex properties); the renderer '
                        'paints the object with them')
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    colors = np.asarray(mesh.visual.vertex_colors)[:, :3].astype(np.uint8)
    diameter = check_diameter(info.get('diameter'), str(info_path), obj_id)
    obj = BOPObject(obj_id=obj_id, name=name, kind='bop',
                    mesh=Mesh(vertices, np.asarray(mesh.vertex_normals),
                              faces, colors),
                    symmetries_discrete=list(
                        info.get('symmetries_discrete', [])),
                    symmetries_continuous=list(
                        info.get('symmetries_continuous', [])),
                    source=path, info=dict(info))
    if abs(obj.diameter - diameter) > DIAMETER_TOLERANCE * diameter:
        raise DataError(f'{info_path}: object {obj_id} has diameter '
                        f'{diameter:g} mm but {path.name} spans '
                        f'{obj.diameter:g} mm')
    return obj
