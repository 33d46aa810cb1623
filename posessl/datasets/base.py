"""Splits, label fraction and metainfo shared by the LINEMOD loaders.

Each data info holds ``img_path, mask_path, bbox, cam_K, gt_R, gt_t,
has_pose, pseudo_label, obj_id, scene_id, im_id, ori_shape``; the metainfo
``dataset_name, obj_ids, classes, diameters, symmetric_obj_ids,
model_points, units`` (mm). A *sequence* is the frames of one
``(obj_id, scene_id)`` sorted by ``im_id``.

* **Split rule** (``subset``): in each scene, of the ``n`` images (sorted
  ids) holding a kept instance, those at :func:`evenly_spaced_positions`
  ``(n, train_ratio)`` are ``'train'``, the others ``'test'``; an image is
  wholly one or the other.
* **Label fraction**: the same rule per sequence, after splitting and
  filtering, marks the ``has_pose=True`` frames; ``labelled_only`` drops the
  others.
* **Pseudo-labels** (:mod:`posessl.datasets.pseudo_labels`), applied after
  the label fraction and before ``labelled_only``: the file's ``"label"``
  entries must be exactly the split's labelled frames with their poses; each
  ``"pseudo"`` frame takes the file's pose, ``has_pose=True`` and
  ``pseudo_label=True``.
"""
import math
import os
from collections import defaultdict
from typing import Any, Callable, List, Mapping, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from posessl.errors import DataError
from posessl.registry import TRANSFORMS
from posessl.structures.bop_models import load_model_points, object_names
from posessl.structures.io import read_frame_ids

from .pseudo_labels import apply_pseudo_labels, read_pseudo_labels

__all__ = ['LinemodBaseDataset', 'evenly_spaced_positions']

SplitFile = Union[None, str, Mapping[int, str]]


def evenly_spaced_positions(n: int, fraction: float) -> np.ndarray:
    """Sorted int64 positions ``floor((i + 0.5) * n / k)``, ``i < k``, of a
    sequence of ``n``, with ``k = max(1, floor(fraction * n + 0.5))``;
    none for ``fraction == 0``."""
    if n <= 0 or fraction == 0:
        return np.zeros(0, dtype=np.int64)
    k = min(n, max(1, int(math.floor(fraction * n + 0.5))))
    return np.floor((np.arange(k) + 0.5) * n / k).astype(np.int64)


def _check_fraction(name: str, value: float,
                    allow_zero: bool = False) -> float:
    """``value`` as a float in ``(0, 1]`` (``[0, 1]`` with ``allow_zero``).
    """
    value = float(value)
    if not (0.0 <= value if allow_zero else 0.0 < value) or value > 1.0:
        interval = '[0, 1]' if allow_zero else '(0, 1]'
        raise ValueError(f'{name} must be in {interval}, got {value}')
    return value


class LinemodBaseDataset(BaseDataset):
    """Base of the LINEMOD loaders; subclasses implement
    :meth:`_read_objects` and :meth:`_load_records`.

    Args:
        data_root: Dataset root folder.
        split: Split to read (its meaning depends on the layout).
        obj_ids: Objects to load; ``None``: every object of the models.
        split_file: Frame ids to keep: a path (relative to ``data_root``
            unless absolute; may contain ``{obj_id}`` and ``{name}``) or a
            dict ``{obj_id: path}``.
        subset: ``'train'`` or ``'test'`` of the split rule (module
            docstring); not with ``split_file``.
        train_ratio: Training share of the split rule.
        label_fraction: Share of each sequence that keeps its labels.
        labelled_only: Keep only the labelled (and pseudo-labelled) frames.
        pseudo_labels: A file of ``tools/pseudo_label.py``.
        min_visib_fract: Drop instances less visible than this.
        num_model_points: At most this many points per model in the
            metainfo.
        symmetric_obj_ids: Objects scored with ADD-S; ``None``: the data's
            (see the subclass).
        dataset_name: ``None``: from the data or the root folder's name.
        metainfo: Overrides the computed metainfo entries.
        pipeline, test_mode, lazy_init, serialize_data, indices,
        max_refetch: As in :class:`mmengine.dataset.BaseDataset`.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 obj_ids: Optional[Sequence[int]] = None,
                 split_file: SplitFile = None,
                 subset: Optional[str] = None,
                 train_ratio: float = 0.15,
                 label_fraction: float = 1.0,
                 labelled_only: bool = False,
                 pseudo_labels: Optional[str] = None,
                 min_visib_fract: float = 0.0,
                 num_model_points: int = 3000,
                 symmetric_obj_ids: Optional[Sequence[int]] = None,
                 dataset_name: Optional[str] = None,
                 metainfo: Optional[dict] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 serialize_data: bool = True,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 max_refetch: int = 1000) -> None:
        if not os.path.isdir(data_root):
            raise FileNotFoundError(f'{data_root}: dataset root not found')
        if subset not in (None, 'train', 'test'):
            raise ValueError(f"subset must be None, 'train' or 'test', got "
                             f'{subset!r}')
        if subset is not None and split_file is not None:
            raise ValueError('give either split_file or subset, not both')
        if num_model_points < 1:
            raise ValueError('num_model_points must be positive')
        self.split = split
        self.split_file = split_file
        self.subset = subset
        self.train_ratio = _check_fraction('train_ratio', train_ratio)
        self.label_fraction = _check_fraction('label_fraction',
                                              label_fraction, allow_zero=True)
        self.labelled_only = labelled_only
        self.pseudo_labels = None if pseudo_labels is None else str(
            pseudo_labels)
        self.min_visib_fract = float(min_visib_fract)
        self.num_model_points = int(num_model_points)
        super().__init__(
            ann_file='',
            metainfo=None,
            data_root=os.path.abspath(data_root),
            data_prefix=dict(),
            # built here: no default scope is needed (scripts, notebooks)
            pipeline=[
                TRANSFORMS.build(t) if isinstance(t, dict) else t
                for t in pipeline
            ],
            test_mode=test_mode,
            lazy_init=True,
            serialize_data=serialize_data,
            indices=indices,
            max_refetch=max_refetch)
        info = self._read_objects(obj_ids)
        self.obj_ids = info['obj_ids']
        self._names = info.get('names')
        if symmetric_obj_ids is None:
            symmetric_obj_ids = info['symmetric_obj_ids']
        self._metainfo = dict(
            dataset_name=dataset_name or info['dataset_name'],
            obj_ids=self.obj_ids,
            classes=object_names(self.obj_ids, self._names),
            diameters={i: info['diameters'][i] for i in self.obj_ids},
            symmetric_obj_ids=tuple(
                sorted(int(i) for i in symmetric_obj_ids
                       if int(i) in self.obj_ids)),
            model_points={
                i: load_model_points(info['model_paths'][i],
                                     self.num_model_points)
                for i in self.obj_ids
            },
            # where ObjectTable.from_models_dir reads every object (None
            # without a BOP models folder)
            models_dir=info.get('models_dir'),
            units='mm')
        if metainfo:
            self._metainfo.update(metainfo)
        if not lazy_init:
            self.full_init()

    def _read_objects(self, obj_ids: Optional[Sequence[int]]) -> dict:
        """``obj_ids`` (sorted tuple), ``diameters``, ``model_paths``,
        ``names`` (or None), ``symmetric_obj_ids``, ``dataset_name``."""
        raise NotImplementedError

    def _load_records(self) -> List[dict]:
        """Every annotated instance of the split, without ``has_pose``."""
        raise NotImplementedError

    def _split_frames(self, obj_id: int) -> Optional[tuple]:
        """``(path, set of frame ids)`` of ``obj_id``'s split file, or None.
        """
        spec = self.split_file
        if spec is None:
            return None
        if isinstance(spec, Mapping):
            if obj_id not in spec and str(obj_id) not in spec:
                raise ValueError(f'split_file gives no file for object '
                                 f'{obj_id}')
            path = spec.get(obj_id, spec.get(str(obj_id)))
        else:
            name = object_names([obj_id], self._names)[0]
            path = str(spec).format(obj_id=obj_id, name=name)
        path = os.path.join(self.data_root, path)  # kept if absolute
        return path, set(read_frame_ids(path))

    @staticmethod
    def _check_split_frames(path: str, wanted: set, found: set,
                            obj_id: int) -> None:
        """Refuse a split file naming frames the data does not have."""
        missing = sorted(wanted - found)
        if missing:
            shown = ', '.join(str(i) for i in missing[:10])
            more = f' and {len(missing) - 10} more' if len(missing) > 10 \
                else ''
            raise DataError(f'{path}: names frames that do not exist for '
                            f'object {obj_id}: {shown}{more}')

    def _log(self, message: str) -> None:
        print_log(f'{type(self).__name__} ({self.data_root}, {self.split}): '
                  f'{message}', logger='current')

    def load_data_list(self) -> List[dict]:
        """Data infos sorted by ``(obj_id, scene_id, im_id)``, after the
        visibility filter, the split rule, the label fraction and the
        pseudo-labels."""
        records = self._load_records()
        kept = []
        for rec in records:
            visib = rec.pop('visib_fract', None)
            if not (rec['bbox'][2] < 0 or rec['bbox'][3] < 0 or (
                    visib is not None and visib < self.min_visib_fract)):
                kept.append(rec)
        if len(kept) < len(records):
            self._log(f'dropped {len(records) - len(kept)} instances with no '
                      '(or too little) visible object')
        if self.subset is not None:
            train_images = self._train_images(kept)
            kept = [r for r in kept if ((r['scene_id'], r['im_id'])
                                        in train_images) == (
                                            self.subset == 'train')]
        sequences = defaultdict(list)
        for rec in sorted(kept, key=lambda r:
                          (r['obj_id'], r['scene_id'], r['im_id'])):
            sequences[(rec['obj_id'], rec['scene_id'])].append(rec)
        frames: List[dict] = []
        for seq in sequences.values():
            labelled = set(evenly_spaced_positions(len(seq),
                                                   self.label_fraction))
            for p, rec in enumerate(seq):
                rec.update(has_pose=p in labelled, pseudo_label=False)
                frames.append(rec)
        if self.pseudo_labels is not None:
            count = apply_pseudo_labels(
                frames, read_pseudo_labels(self.pseudo_labels),
                self.pseudo_labels)
            self._log(f'{count} pseudo-labelled frames from '
                      f'{self.pseudo_labels}')
        if self.labelled_only:
            frames = [rec for rec in frames if rec['has_pose']]
        return frames

    def _train_images(self, records: List[dict]) -> set:
        """``(scene_id, im_id)`` of the split rule's training images."""
        images = defaultdict(set)
        for rec in records:
            images[rec['scene_id']].add(rec['im_id'])
        train = set()
        for scene_id, ids in images.items():
            ids = sorted(ids)
            train.update((scene_id, ids[p]) for p in
                         evenly_spaced_positions(len(ids), self.train_ratio))
        return train

    def __getitem__(self, idx: Any) -> dict:
        """Run the pipeline on sample ``idx``; in test mode a sample the
        pipeline drops is an error naming the image."""
        if not self.test_mode:
            return super().__getitem__(idx)
        if not self._fully_initialized:
            self.full_init()
        data = self.prepare_data(idx)
        if data is None:
            raise DataError(f"{self.get_data_info(idx)['img_path']}: the "
                            'pipeline dropped this test sample (see the '
                            'warning above)')
        return data

    def get_cat_ids(self, idx: int) -> List[int]:
        """Object id of sample ``idx`` (for MMEngine's dataset wrappers)."""
        return [int(self.get_data_info(idx)['obj_id'])]
