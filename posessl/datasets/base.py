"""Behaviour shared by the LINEMOD loaders: splits, label fraction, metainfo.

Both loaders produce the same data-info schema (``docs/architecture.md``)::

    img_path, mask_path, bbox, cam_K, gt_R, gt_t, has_pose, pseudo_label,
    obj_id, scene_id, im_id, ori_shape

and the same metainfo (dataset_name, obj_ids, classes, diameters,
symmetric_obj_ids, model_points, models_dir, units).

Deterministic rules (documented here once, used by both loaders):

* **Sequences.** A sequence is the frames of one ``(obj_id, scene_id)``
  sorted by ``im_id``; consecutive entries are neighbouring viewpoints.
* **Split rule** (``subset='train'|'test'``, for data without split
  files): in each scene, of its ``n`` images (sorted ids) that hold a kept
  instance of a selected object, the ``k = max(1, floor(train_ratio * n +
  0.5))`` at positions ``floor((i + 0.5) * n / k)``, ``i = 0 .. k-1``
  (evenly spaced, so interleaved along the recording) are ``'train'``, the
  others ``'test'``. An image is wholly one or the other, also where a
  scene shows several objects (LM-O); with one object per scene (LM) the
  images are that object's sequence.
* **Label fraction** (``label_fraction`` in [0, 1]): the same evenly spaced
  rule applied to the frames kept after splitting and filtering, per
  sequence, with ``k = max(1, floor(label_fraction * n + 0.5))`` (``k = 0``
  for a fraction of 0: every frame unlabelled); those frames have
  ``has_pose=True``, the rest ``has_pose=False``. ``labelled_only=True``
  then drops the unlabelled frames.
* **Pseudo-labels** (``pseudo_labels``, a file of
  ``tools/pseudo_label.py``; format and rules in
  :mod:`posessl.datasets.pseudo_labels`): applied after the label
  fraction, before ``labelled_only``. The file's ``"label"`` entries must
  be exactly this split's labelled frames with the same poses, and every
  entry a frame of the split, else the file is refused naming the first
  frame that does not fit. Each ``"pseudo"`` frame takes the file's pose
  as ``gt_R`` / ``gt_t`` and ``has_pose=True``, so ``labelled_only=True``
  keeps the labelled and the pseudo-labelled frames. Every data info has
  ``pseudo_label`` (True for those frames only; for logging, no transform
  reads it).
"""
import math
import os
from collections import defaultdict
from typing import (
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from posessl.registry import TRANSFORMS
from posessl.structures.bop_models import load_model_points, object_names
from posessl.structures.io import DataError, read_frame_ids

from .pseudo_labels import apply_pseudo_labels, read_pseudo_labels

__all__ = ['LinemodBaseDataset', 'evenly_spaced_positions']

SplitFile = Union[None, str, Mapping[int, str]]


def evenly_spaced_positions(n: int, fraction: float) -> np.ndarray:
    """Positions kept by the evenly spaced rule in a sequence of ``n``.

    ``k = max(1, floor(fraction * n + 0.5))`` positions
    ``floor((i + 0.5) * n / k)`` for ``i = 0 .. k-1`` (all distinct, since
    ``n / k >= 1``).

    Args:
        n: Sequence length (> 0).
        fraction: Fraction to keep, in [0, 1]; 0 keeps none.

    Returns:
        Sorted int64 positions.
    """
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
    """Common base of :class:`LinemodBOPDataset` and
    :class:`LinemodDenseFusionDataset`.

    Subclasses implement :meth:`_read_objects` (models and their info) and
    :meth:`_load_records` (one data info per annotated object instance,
    without ``has_pose``).

    Args:
        data_root: Dataset root folder.
        split: Which split to read (its meaning depends on the layout).
        obj_ids: Objects to load; ``None`` loads every object of the
            models' info file.
        split_file: Frame ids to keep: a path (relative to ``data_root``
            unless absolute, may contain ``{obj_id}`` and ``{name}``, the
            class name), or a dict ``{obj_id: path}`` (e.g. for GDR-Net's
            ``image_set/camera_train.txt``, whose name differs from
            LINEMOD's ``cam``).
        subset: ``'train'`` or ``'test'``: apply the deterministic split
            rule (module docstring) on top of ``split``; for data without
            split files. Not together with ``split_file``.
        train_ratio: Training share of the split rule.
        label_fraction: Share of each sequence that keeps its pose labels
            (0: none, e.g. an unlabelled pool of real frames).
        labelled_only: Keep only the labelled frames (with
            ``pseudo_labels``: and the pseudo-labelled ones).
        pseudo_labels: A pseudo-label file (relative to the working
            directory, like ``work_dirs``) whose ``"pseudo"`` entries label
            unlabelled frames (module docstring).
        min_visib_fract: Drop instances whose visible fraction (where the
            annotations give one) is below this.
        num_model_points: At most this many model points per object in
            ``metainfo['model_points']``.
        symmetric_obj_ids: Objects scored with ADD-S; ``None`` takes them
            from the data (see the subclass) or the classic LINEMOD set
            (eggbox, glue).
        dataset_name: Name in the metainfo; ``None``: from the data or the
            root folder's name.
        metainfo: Extra metainfo; overrides the computed entries.
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
            # built here so that posessl's transforms are found even where
            # no default scope is set (scripts, notebooks)
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
        self.obj_ids: Tuple[int, ...] = info['obj_ids']
        self._names: Optional[Dict[int, str]] = info.get('names')
        if symmetric_obj_ids is None:
            symmetric = info['symmetric_obj_ids']
        else:
            symmetric = symmetric_obj_ids
        self._metainfo = dict(
            dataset_name=dataset_name or info['dataset_name'],
            obj_ids=self.obj_ids,
            classes=object_names(self.obj_ids, info.get('names')),
            diameters={i: info['diameters'][i] for i in self.obj_ids},
            symmetric_obj_ids=tuple(
                sorted(int(i) for i in symmetric if int(i) in self.obj_ids)),
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

    # -- subclass hooks -------------------------------------------------
    def _read_objects(self, obj_ids: Optional[Sequence[int]]) -> dict:
        """Resolve objects: ``obj_ids`` (sorted tuple), ``diameters``,
        ``model_paths``, ``names`` (or None), ``symmetric_obj_ids`` (the
        data's default) and ``dataset_name``."""
        raise NotImplementedError

    def _load_records(self) -> List[dict]:
        """All annotated instances of the split, without ``has_pose``."""
        raise NotImplementedError

    # -- shared helpers -------------------------------------------------
    def _split_file_for(self, obj_id: int) -> Optional[str]:
        """Resolved split-file path for ``obj_id`` (None if none)."""
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
        if not os.path.isabs(path):
            path = os.path.join(self.data_root, path)
        return path

    def _split_frames(self, obj_id: int) -> Optional[Tuple[str, set]]:
        """``(path, frame ids)`` of ``obj_id``'s split file, or None."""
        path = self._split_file_for(obj_id)
        if path is None:
            return None
        return path, set(read_frame_ids(path))

    @staticmethod
    def _check_split_frames(path: str, wanted: set, found: set,
                            obj_id: int) -> None:
        missing = sorted(wanted - found)
        if missing:
            shown = ', '.join(str(i) for i in missing[:10])
            more = f' and {len(missing) - 10} more' if len(missing) > 10 \
                else ''
            raise DataError(f'{path}: names frames that do not exist for '
                            f'object {obj_id}: {shown}{more}')

    # -- BaseDataset ----------------------------------------------------
    def load_data_list(self) -> List[dict]:
        """Read the split, filter, apply the split rule, the label fraction
        and the pseudo-labels.

        Returns:
            Data infos sorted by ``(obj_id, scene_id, im_id)``.
        """
        records = self._load_records()
        kept = []
        hidden = 0
        for rec in records:
            x, y, w, h = rec['bbox']
            visib = rec.pop('visib_fract', None)
            if w < 0 or h < 0 or (visib is not None
                                    and visib < self.min_visib_fract):
                hidden += 1
                continue
            kept.append(rec)
        if hidden:
            print_log(
                f'{type(self).__name__} ({self.data_root}, {self.split}): '
                f'dropped {hidden} instances with no (or too little) '
                'visible object', logger='current')
        if self.subset is not None:
            train_images = self._train_images(kept)
            want_train = self.subset == 'train'
            kept = [r for r in kept if ((r['scene_id'], r['im_id'])
                                        in train_images) == want_train]
        kept.sort(key=lambda r: (r['obj_id'], r['scene_id'], r['im_id']))
        sequences: Dict[Tuple[int, int], List[dict]] = defaultdict(list)
        for rec in kept:
            sequences[(rec['obj_id'], rec['scene_id'])].append(rec)
        frames: List[dict] = []
        for key in sorted(sequences):
            seq = sequences[key]
            labelled = set(evenly_spaced_positions(len(seq),
                                                   self.label_fraction))
            for p, rec in enumerate(seq):
                rec['has_pose'] = p in labelled
                rec['pseudo_label'] = False
                frames.append(rec)
        if self.pseudo_labels is not None:
            count = apply_pseudo_labels(
                frames, read_pseudo_labels(self.pseudo_labels),
                self.pseudo_labels)
            print_log(
                f'{type(self).__name__} ({self.data_root}, {self.split}): '
                f'{count} pseudo-labelled frames from {self.pseudo_labels}',
                logger='current')
        if self.labelled_only:
            frames = [rec for rec in frames if rec['has_pose']]
        return frames

    def _train_images(self, records: List[dict]) -> set:
        """``(scene_id, im_id)`` of the split rule's training images."""
        images: Dict[int, set] = defaultdict(set)
        for rec in records:
            images[rec['scene_id']].add(rec['im_id'])
        train = set()
        for scene_id, ids in images.items():
            ids = sorted(ids)
            for p in evenly_spaced_positions(len(ids), self.train_ratio):
                train.add((scene_id, ids[p]))
        return train

    def __getitem__(self, idx: Any) -> dict:
        """Run the pipeline on sample ``idx``.

        In test mode a pipeline that drops the sample (returns None) is an
        error naming the image, not a silent redraw.
        """
        if self.test_mode:
            if not self._fully_initialized:
                self.full_init()
            data = self.prepare_data(idx)
            if data is None:
                info = self.get_data_info(idx)
                raise DataError(f"{info['img_path']}: the pipeline dropped "
                                'this test sample (see the warning above)')
            return data
        return super().__getitem__(idx)

    def get_cat_ids(self, idx: int) -> List[int]:
        """Object id of sample ``idx`` (for MMEngine's dataset wrappers)."""
        return [int(self.get_data_info(idx)['obj_id'])]
