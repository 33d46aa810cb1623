"""LINEMOD in DenseFusion's ``Linemod_preprocessed`` layout."""
import os
from typing import Dict, List, Optional, Sequence

from posessl.registry import DATASETS
from posessl.structures.bop_models import (
    CLASSIC_SYMMETRIC_OBJ_IDS,
    check_diameter,
    model_file,
    names_from_dataset_info,
    read_dataset_info,
)
from posessl.structures.io import (
    DataError,
    int_keyed,
    read_frame_ids,
    read_yaml,
)

from .annotations import (
    check_pose,
    check_translation_units,
    image_shape,
    list_frames,
    parse_cam_K,
)
from .base import LinemodBaseDataset

__all__ = ['LinemodDenseFusionDataset']


@DATASETS.register_module()
class LinemodDenseFusionDataset(LinemodBaseDataset):
    """LINEMOD as released with DenseFusion::

        <root>/data/<NN>/rgb/<NNNN>.png, mask/<NNNN>.png
        <root>/data/<NN>/gt.yml    {frame: [{cam_R_m2c, cam_t_m2c, obj_bb,
                                              obj_id}, ...]}
        <root>/data/<NN>/info.yml  {frame: {cam_K, depth_scale}}
        <root>/data/<NN>/train.txt, test.txt
        <root>/models/obj_<NN>.ply, models/models_info.yml
        <root>/dataset_info.json  (optional: name, objects,
                                   symmetric_obj_ids)

    ``data/NN`` is the sequence of object ``NN`` (``scene_id = NN``; where a
    frame lists several objects, object ``NN``'s entry is taken); the box is
    ``obj_bb``. ``split``: ``'train'`` or ``'test'`` (the frames of
    ``data/NN/<split>.txt``, or of ``split_file``) or ``'all'``. ``obj_ids``
    defaults to the objects of ``models_info.yml`` with a ``data/NN``
    folder; symmetric objects to ``dataset_info.json``'s, else eggbox and
    glue. Other arguments: see :class:`LinemodBaseDataset`.
    """

    def _seq_dir(self, obj_id: int) -> str:
        return os.path.join(self.data_root, 'data', f'{obj_id:02d}')

    def _read_objects(self, obj_ids: Optional[Sequence[int]]) -> dict:
        root = self.data_root
        info_path = os.path.join(root, 'models', 'models_info.yml')
        models_info = int_keyed(read_yaml(info_path), info_path)
        ds_path, dataset_info = read_dataset_info(root)
        if obj_ids is None:
            ids = tuple(
                sorted(i for i in models_info
                       if os.path.isdir(self._seq_dir(i))))
            if not ids:
                raise DataError(f'{info_path}: no object has a data/NN '
                                'folder')
        else:
            ids = tuple(sorted({int(i) for i in obj_ids}))
        diameters: Dict[int, float] = {}
        for i in ids:
            entry = models_info.get(i)
            if not isinstance(entry, dict) or 'diameter' not in entry:
                raise DataError(f'{info_path}: no diameter for object {i}')
            diameters[i] = check_diameter(entry['diameter'], info_path, i)
        symmetric = CLASSIC_SYMMETRIC_OBJ_IDS
        if dataset_info and 'symmetric_obj_ids' in dataset_info:
            symmetric = tuple(int(i)
                              for i in dataset_info['symmetric_obj_ids'])
        name = (dataset_info or {}).get('name') or \
            os.path.basename(os.path.normpath(root))
        return dict(
            obj_ids=ids,
            diameters=diameters,
            model_paths={
                i: model_file(os.path.join(root, 'models'), i, 2)
                for i in ids
            },
            names=names_from_dataset_info(dataset_info, ds_path),
            symmetric_obj_ids=symmetric,
            dataset_name=str(name))

    def _frame_ids(self, obj_id: int, gt: Dict[int, list]) -> List[int]:
        split = self._split_frames(obj_id)
        if split is not None:
            path, ids = split
        elif self.split == 'all':
            return sorted(gt)
        elif self.split in ('train', 'test'):
            path = os.path.join(self._seq_dir(obj_id), f'{self.split}.txt')
            ids = set(read_frame_ids(path))
        else:
            raise ValueError(f"split must be 'train', 'test' or 'all', got "
                             f'{self.split!r}')
        self._check_split_frames(path, ids, set(gt), obj_id)
        return sorted(ids)

    def _load_records(self) -> List[dict]:
        records: List[dict] = []
        for obj_id in self.obj_ids:
            seq_dir = self._seq_dir(obj_id)
            if not os.path.isdir(seq_dir):
                raise FileNotFoundError(f'{seq_dir}: sequence folder of '
                                        f'object {obj_id} not found')
            gt_path = os.path.join(seq_dir, 'gt.yml')
            gt = int_keyed(read_yaml(gt_path), gt_path)
            if not any(
                    isinstance(a, dict) and a.get('obj_id') == obj_id
                    for anns in gt.values() if isinstance(anns, list)
                    for a in anns):
                raise DataError(f'{gt_path}: object {obj_id} does not '
                                'appear in the ground truth')
            info_path = os.path.join(seq_dir, 'info.yml')
            info = int_keyed(read_yaml(info_path), info_path)
            images = list_frames(os.path.join(seq_dir, 'rgb'), 'image')
            masks = list_frames(os.path.join(seq_dir, 'mask'), 'mask')
            shape = None
            seq_records = []
            for im_id in self._frame_ids(obj_id, gt):
                anns = gt[im_id]
                ann = None
                if isinstance(anns, list):
                    ann = next((a for a in anns if isinstance(a, dict)
                                and a.get('obj_id') == obj_id), None)
                if ann is None:
                    raise DataError(f'{gt_path}: frame {im_id} has no '
                                    f'annotation of object {obj_id}')
                where = f'frame {im_id}'
                R, t = check_pose(ann.get('cam_R_m2c'),
                                  ann.get('cam_t_m2c'), gt_path, where)
                bbox = ann.get('obj_bb')
                if bbox is None or len(bbox) != 4:
                    raise DataError(f'{gt_path}: {where} has no obj_bb')
                if im_id not in info:
                    raise DataError(f'{info_path}: no camera for frame '
                                    f'{im_id}')
                entry = info[im_id]
                K = parse_cam_K(
                    entry.get('cam_K') if isinstance(entry, dict) else None,
                    info_path, where)
                for files, what, sub in ((images, 'image', 'rgb'),
                                         (masks, 'mask', 'mask')):
                    if im_id not in files:
                        raise FileNotFoundError(
                            os.path.join(seq_dir, sub, f'{im_id:04d}.png')
                            + f': {what} not found')
                if shape is None:
                    shape = image_shape(images[im_id])
                seq_records.append(dict(
                    img_path=images[im_id], mask_path=masks[im_id],
                    bbox=[float(v) for v in bbox], cam_K=K, gt_R=R, gt_t=t,
                    obj_id=obj_id, scene_id=obj_id, im_id=int(im_id),
                    ori_shape=shape))
            check_translation_units(seq_records, gt_path)
            records.extend(seq_records)
        return records
