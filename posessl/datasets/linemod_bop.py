"""LINEMOD in the BOP layout (``lm``, ``lmo`` and the synthetic set)."""
import os
from typing import Dict, List, Optional, Sequence

import numpy as np

from posessl.errors import DataError
from posessl.geometry import project_points
from posessl.registry import DATASETS
from posessl.structures.bop_models import read_bop_models
from posessl.structures.io import int_keyed, read_json

from .annotations import (
    check_pose,
    check_translation_units,
    image_shape,
    list_frames,
    parse_cam_K,
)
from .base import LinemodBaseDataset

__all__ = ['LinemodBOPDataset', 'MASK_DIRS']

#: Mask folders tried in order, per ``mask_type``.
MASK_DIRS = {'visib': ('mask_visib', 'mask'), 'amodal': ('mask', ),
             'box': ()}


@DATASETS.register_module()
class LinemodBOPDataset(LinemodBaseDataset):
    """LINEMOD-style data in the BOP layout::

        <root>/camera.json, models/models_info.json, models/obj_XXXXXX.ply
        <root>/<split>/<scene>/rgb/<im>.png, mask_visib/<im>_<gt idx>.png
        <root>/<split>/<scene>/scene_gt.json, scene_camera.json,
                               scene_gt_info.json
        <root>/dataset_info.json  (optional: name, objects,
                                   symmetric_obj_ids)

    One data info per annotated instance of a selected object. The box is
    ``bbox_visib`` of ``scene_gt_info.json``, else the projected model's box
    clipped to the image. Symmetric objects default to ``dataset_info.json``'s
    ``symmetric_obj_ids``, else the ``symmetries_*`` of ``models_info.json``,
    else eggbox and glue.

    Args:
        data_root: BOP dataset root.
        split: Split folder name.
        obj_ids: Objects to load (default: all of ``models_info.json``).
        scene_ids: Scenes to read (default: all); must show every object of
            ``obj_ids``.
        mask_type: ``'visib'`` (``mask_visib``, else ``mask``, else no mask:
            the crop uses the box), ``'amodal'`` (``mask``, required) or
            ``'box'`` (no mask).
        **kwargs: See :class:`LinemodBaseDataset`.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 obj_ids: Optional[Sequence[int]] = None,
                 scene_ids: Optional[Sequence[int]] = None,
                 mask_type: str = 'visib',
                 **kwargs) -> None:
        if mask_type not in MASK_DIRS:
            raise ValueError(f'mask_type must be one of {tuple(MASK_DIRS)}'
                             f', got {mask_type!r}')
        self.mask_type = mask_type
        self.scene_ids = None if scene_ids is None else [
            int(i) for i in scene_ids]
        super().__init__(data_root, split=split, obj_ids=obj_ids, **kwargs)

    def _read_objects(self, obj_ids: Optional[Sequence[int]]) -> dict:
        return read_bop_models(os.path.join(self.data_root, 'models'),
                               obj_ids)

    def _scene_dirs(self) -> Dict[int, str]:
        """``{scene_id: folder}`` of the scenes to read."""
        split_dir = os.path.join(self.data_root, self.split)
        if not os.path.isdir(split_dir):
            raise FileNotFoundError(f'{split_dir}: split folder not found')
        if self.scene_ids is None:
            return {int(name): os.path.join(split_dir, name)
                    for name in sorted(os.listdir(split_dir))
                    if name.isdigit()
                    and os.path.isdir(os.path.join(split_dir, name))}
        scenes = {s: os.path.join(split_dir, f'{s:06d}')
                  for s in self.scene_ids}
        for path in scenes.values():
            if not os.path.isdir(path):
                raise FileNotFoundError(f'{path}: scene folder not found')
        return scenes

    def _camera(self) -> dict:
        path = os.path.join(self.data_root, 'camera.json')
        if not os.path.isfile(path):
            return {}
        cam = read_json(path)
        if not isinstance(cam, dict):
            raise DataError(f'{path}: expected a JSON object')
        return cam

    def _load_records(self) -> List[dict]:
        camera = self._camera()
        default_K = None
        if all(k in camera for k in ('fx', 'fy', 'cx', 'cy')):
            default_K = np.array([[camera['fx'], 0.0, camera['cx']],
                                  [0.0, camera['fy'], camera['cy']],
                                  [0.0, 0.0, 1.0]], dtype=np.float64)
        shape = None
        if 'width' in camera and 'height' in camera:
            shape = (int(camera['height']), int(camera['width']))
        wanted = set(self.obj_ids)
        splits = {i: self._split_frames(i) for i in self.obj_ids}
        found_frames: Dict[int, set] = {i: set() for i in self.obj_ids}
        records: List[dict] = []
        gt_files = []
        for scene_id, scene_dir in self._scene_dirs().items():
            gt_path = os.path.join(scene_dir, 'scene_gt.json')
            gt_files.append(gt_path)
            scene_gt = int_keyed(read_json(gt_path), gt_path)
            if not any(
                    isinstance(anns, list) and any(
                        isinstance(a, dict) and a.get('obj_id') in wanted
                        for a in anns) for anns in scene_gt.values()):
                continue
            records.extend(
                self._scene_records(scene_id, scene_dir, scene_gt, gt_path,
                                    default_K, shape, splits,
                                    found_frames))
        for obj_id in self.obj_ids:
            if not found_frames[obj_id]:
                where = ', '.join(gt_files)
                if not gt_files or len(gt_files) > 3:
                    where = os.path.join(self.data_root, self.split, '*',
                                         'scene_gt.json')
                raise DataError(f'{where}: object {obj_id} does not appear '
                                'in the ground truth')
            if splits[obj_id] is not None:
                path, ids = splits[obj_id]
                self._check_split_frames(path, ids, found_frames[obj_id],
                                         obj_id)
        return records

    def _scene_records(self, scene_id: int, scene_dir: str, scene_gt: dict,
                       gt_path: str, default_K: Optional[np.ndarray],
                       shape: Optional[tuple], splits: dict,
                       found_frames: Dict[int, set]) -> List[dict]:
        cam_path = os.path.join(scene_dir, 'scene_camera.json')
        scene_cam = int_keyed(read_json(cam_path), cam_path) \
            if os.path.isfile(cam_path) else {}
        if not scene_cam and default_K is None:
            raise FileNotFoundError(f'{cam_path}: camera file not found '
                                    '(and no camera.json intrinsics)')
        info_path = os.path.join(scene_dir, 'scene_gt_info.json')
        scene_info = int_keyed(read_json(info_path), info_path) \
            if os.path.isfile(info_path) else None
        images = list_frames(os.path.join(scene_dir, 'rgb'), 'image')
        mask_dir = next((os.path.join(scene_dir, name)
                         for name in MASK_DIRS[self.mask_type]
                         if os.path.isdir(os.path.join(scene_dir, name))),
                        None)
        if self.mask_type == 'amodal' and mask_dir is None:
            raise FileNotFoundError(
                f"{os.path.join(scene_dir, 'mask')}: mask_type='amodal' "
                'needs the whole-silhouette masks (folder not found)')
        mask_files = set(os.listdir(mask_dir)) if mask_dir else set()
        if shape is None and images:
            shape = image_shape(next(iter(images.values())))
        records = []
        for im_id in sorted(scene_gt):
            anns = scene_gt[im_id]
            if not isinstance(anns, list):
                raise DataError(f'{gt_path}: frame {im_id}: expected a list '
                                'of annotations')
            for gt_idx, ann in enumerate(anns):
                obj_id = ann.get('obj_id') if isinstance(ann, dict) else None
                if obj_id not in found_frames:
                    continue
                split = splits[obj_id]
                found_frames[obj_id].add(im_id)
                if split is not None and im_id not in split[1]:
                    continue
                where = f'frame {im_id}, annotation {gt_idx}'
                R, t = check_pose(ann.get('cam_R_m2c'),
                                  ann.get('cam_t_m2c'), gt_path, where)
                if im_id not in images:
                    raise FileNotFoundError(
                        os.path.join(scene_dir, 'rgb', f'{im_id:06d}.png') +
                        ': image not found')
                if im_id in scene_cam:
                    K = parse_cam_K(scene_cam[im_id].get('cam_K'),
                                    cam_path, f'frame {im_id}')
                elif default_K is not None:
                    K = default_K.copy()
                else:
                    raise DataError(f'{cam_path}: no camera for frame '
                                    f'{im_id}')
                mask_path = None
                if mask_dir is not None:
                    name = f'{im_id:06d}_{gt_idx:06d}.png'
                    if name not in mask_files:
                        raise FileNotFoundError(
                            f'{os.path.join(mask_dir, name)}: mask not '
                            'found')
                    mask_path = os.path.join(mask_dir, name)
                visib = None
                if scene_info is not None:
                    infos = scene_info.get(im_id)
                    if not isinstance(infos, list) or len(infos) != len(
                            anns):
                        raise DataError(f'{info_path}: frame {im_id} does '
                                        'not match scene_gt.json')
                    bbox = infos[gt_idx].get('bbox_visib')
                    if bbox is None or len(bbox) != 4:
                        raise DataError(f'{info_path}: {where} has no '
                                        'bbox_visib')
                    bbox = [float(v) for v in bbox]
                    visib = infos[gt_idx].get('visib_fract')
                else:
                    bbox = self._projected_box(obj_id, R, t, K, shape)
                records.append(dict(
                    img_path=images[im_id], mask_path=mask_path, bbox=bbox,
                    cam_K=K, gt_R=R, gt_t=t, obj_id=int(obj_id),
                    scene_id=int(scene_id), im_id=int(im_id),
                    ori_shape=shape,
                    visib_fract=None if visib is None else float(visib)))
        check_translation_units(records, gt_path)
        return records

    def _projected_box(self, obj_id: int, R: np.ndarray, t: np.ndarray,
                       K: np.ndarray, shape: Optional[tuple]) -> List[float]:
        """Box of the projected model points, clipped to the image."""
        pts = self._metainfo['model_points'][obj_id].astype(np.float64)
        uv = project_points(pts, R, t, K)
        x1, y1 = np.floor(uv.min(0))
        x2, y2 = np.floor(uv.max(0))
        if shape is not None:
            x1, x2 = np.clip([x1, x2], 0, shape[1] - 1)
            y1, y2 = np.clip([y1, y2], 0, shape[0] - 1)
        return [float(x1), float(y1), float(x2 - x1), float(y2 - y1)]
