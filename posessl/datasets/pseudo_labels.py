"""Pseudo-labels of unlabelled training frames: the video-consistency
filter and the file the datasets read.

**Filter.** Two poses agree when their geodesic rotation difference is at
most ``max_rot_deg`` and their translation difference at most
``max_trans_mm`` (inclusive; a non-finite pose agrees with nothing). A
frame's neighbours are the frames within ``window`` positions of it in its
sequence (``base.py``); it is consistent when a strict majority of them
agree with it (``agreement='majority'``) or all of them (``'all'``). A frame
without neighbours is never consistent.

**File** (written by ``tools/pseudo_label.py``, read through the
``pseudo_labels`` option of :class:`~posessl.datasets.LinemodBaseDataset`)::

    {"header": {"format": "posessl-pseudo-labels", "version": 1, ...},
     "labels": [{"obj_id": 1, "scene_id": 1, "im_id": 7,
                 "R": [9 floats, row-major], "t": [3 floats, mm],
                 "source": "label" | "pseudo"}, ...]}

One entry per frame; ``"label"`` entries copy the data set's labels,
``"pseudo"`` entries are the teacher's kept poses. The rest of the header is
not read back.
"""
import json
import os
from typing import Any, Dict, List, Mapping, NamedTuple, Sequence, Tuple

import numpy as np
import torch

from posessl.errors import DataError
from posessl.geometry import geodesic_distance
from posessl.structures.io import read_json

from .annotations import check_pose
from .sequences import sequence_order

__all__ = [
    'FORMAT', 'VERSION', 'AGREEMENTS', 'SOURCES', 'PseudoLabel',
    'neighbour_agreement', 'consistent_in_sequence', 'consistent_frames',
    'read_pseudo_labels', 'write_pseudo_labels', 'apply_pseudo_labels'
]

FORMAT = 'posessl-pseudo-labels'
VERSION = 1
AGREEMENTS = ('majority', 'all')
SOURCES = ('label', 'pseudo')
#: Largest difference of a ``"label"`` entry from the data set's label (R
#: entries, t in mm): only a writer's rounding.
_LABEL_TOL = 1e-6

FrameKey = Tuple[int, int, int]


class PseudoLabel(NamedTuple):
    """One entry of a pseudo-label file."""

    R: np.ndarray  # (3, 3) float64
    t: np.ndarray  # (3,) float64, mm
    source: str  # 'label' or 'pseudo'


def _frame(key: FrameKey) -> str:
    return f'obj_id {key[0]} scene_id {key[1]} im_id {key[2]}'


def neighbour_agreement(R: Any, t: Any, window: int, max_rot_deg: float,
                        max_trans_mm: float
                        ) -> Tuple[np.ndarray, np.ndarray]:
    """``(agree, present)``: (n,) int64 counts of the neighbours that agree
    with each frame of one sequence and of those inside it.

    Args:
        R: (n, 3, 3) rotations of the sequence's frames, in video order.
        t: (n, 3) translations, mm.
        window, max_rot_deg, max_trans_mm: The filter (module docstring).
    """
    R = torch.as_tensor(np.asarray(R, dtype=np.float64))
    t = np.asarray(t, dtype=np.float64)
    n = len(R)
    if R.shape != (n, 3, 3) or t.shape != (n, 3):
        raise ValueError(f'R must be (n, 3, 3) and t (n, 3), got '
                         f'{tuple(R.shape)} and {t.shape}')
    if window < 1:
        raise ValueError(f'window must be at least 1, got {window}')
    agree = np.zeros(n, dtype=np.int64)
    present = np.zeros(n, dtype=np.int64)
    for k in range(1, min(window, n - 1) + 1):
        # pair (i, i + k) for i = 0 .. n-k-1; NaN compares as False
        rot = np.degrees(geodesic_distance(R[:-k], R[k:]).numpy())
        trans = np.linalg.norm(t[k:] - t[:-k], axis=1)
        ok = (rot <= max_rot_deg) & (trans <= max_trans_mm)
        for frames in (slice(None, -k), slice(k, None)):
            present[frames] += 1
            agree[frames] += ok
    return agree, present


def consistent_in_sequence(R: Any, t: Any, window: int = 2,
                           max_rot_deg: float = 20.0,
                           max_trans_mm: float = 100.0,
                           agreement: str = 'majority') -> np.ndarray:
    """(n,) bool: the frames of one sequence that pass the filter."""
    if agreement not in AGREEMENTS:
        raise ValueError(f'agreement must be one of {AGREEMENTS}, got '
                         f'{agreement!r}')
    agree, present = neighbour_agreement(R, t, window, max_rot_deg,
                                         max_trans_mm)
    if agreement == 'majority':
        return 2 * agree > present
    return (agree == present) & (present > 0)


def consistent_frames(obj_ids: Sequence[int], scene_ids: Sequence[int],
                      im_ids: Sequence[int], R: Any, t: Any,
                      **rule: Any) -> np.ndarray:
    """(N,) bool: :func:`consistent_in_sequence` of frames in any order.

    Args:
        obj_ids, scene_ids, im_ids: (N,) keys of the frames (unique).
        R, t: (N, 3, 3) and (N, 3) poses.
        **rule: ``window``, ``max_rot_deg``, ``max_trans_mm``,
            ``agreement``.
    """
    keys = np.stack([np.asarray(k, dtype=np.int64).reshape(-1)
                     for k in (obj_ids, scene_ids, im_ids)], axis=1)
    R = np.asarray(R, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    order, starts = sequence_order(keys)
    sorted_keys = keys[order]
    same = np.all(sorted_keys[1:] == sorted_keys[:-1], axis=1)
    if same.any():
        first = tuple(int(v) for v in sorted_keys[1:][same][0])
        raise ValueError(f'two frames share {_frame(first)}')
    keep = np.zeros(len(keys), dtype=bool)
    for rows in np.split(order, starts)[1:]:
        keep[rows] = consistent_in_sequence(R[rows], t[rows], **rule)
    return keep


def write_pseudo_labels(path: str, header: Mapping[str, Any],
                        entries: Sequence[Mapping[str, Any]]) -> None:
    """Write a pseudo-label file atomically (its folder is created).

    Args:
        path: Output ``.json``.
        header: JSON-serialisable; ``format`` and ``version`` are set here.
        entries: Dicts with ``obj_id``, ``scene_id``, ``im_id``, ``R``
            (3, 3), ``t`` (3,) and ``source``.
    """
    labels = []
    for e in entries:
        if e['source'] not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got "
                             f"{e['source']!r}")
        labels.append(dict(
            obj_id=int(e['obj_id']), scene_id=int(e['scene_id']),
            im_id=int(e['im_id']),
            R=[float(v) for v in np.asarray(e['R']).reshape(9)],
            t=[float(v) for v in np.asarray(e['t']).reshape(3)],
            source=str(e['source'])))
    data = dict(header=dict(header, format=FORMAT, version=VERSION),
                labels=labels)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    try:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(data, f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _parse_entry(entry: Any, index: int, path: str
                 ) -> Tuple[FrameKey, PseudoLabel]:
    where = f'{path}: labels[{index}]'
    if not isinstance(entry, dict):
        raise DataError(f'{where} is not an object')
    missing = [k for k in ('obj_id', 'scene_id', 'im_id', 'R', 't',
                           'source') if k not in entry]
    if missing:
        raise DataError(f'{where} has no {", ".join(missing)}')
    ids = [entry[k] for k in ('obj_id', 'scene_id', 'im_id')]
    if not all(isinstance(v, int) and not isinstance(v, bool)
               for v in ids):
        raise DataError(f'{where}: obj_id, scene_id and im_id must be '
                        f'integers, got {ids}')
    key = (ids[0], ids[1], ids[2])
    if entry['source'] not in SOURCES:
        raise DataError(f"{path}: {_frame(key)}: source must be 'label' or "
                        f"'pseudo', got {entry['source']!r}")
    try:
        R = np.asarray(entry['R'], dtype=np.float64).reshape(3, 3)
        t = np.asarray(entry['t'], dtype=np.float64).reshape(3)
    except (TypeError, ValueError):
        raise DataError(f'{path}: {_frame(key)}: R must be 9 numbers and t '
                        '3') from None
    R, t = check_pose(R, t, path, _frame(key), rotation_name='R')
    return key, PseudoLabel(R, t, entry['source'])


def read_pseudo_labels(path: str) -> Dict[FrameKey, PseudoLabel]:
    """``{(obj_id, scene_id, im_id): PseudoLabel}`` of a checked file, in
    its order.

    Raises:
        FileNotFoundError: no such file.
        DataError: not a pseudo-label file, or naming the first bad entry.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: pseudo-label file not found '
                                '(tools/pseudo_label.py makes it)')
    data = read_json(path)
    header = data.get('header') if isinstance(data, dict) else None
    if not isinstance(header, dict) or header.get('format') != FORMAT:
        raise DataError(f'{path}: not a pseudo-label file (no header with '
                        f'format {FORMAT!r})')
    if header.get('version') != VERSION:
        raise DataError(f"{path}: pseudo-label file version "
                        f"{header.get('version')!r}, this posessl reads "
                        f'version {VERSION}')
    entries = data.get('labels')
    if not isinstance(entries, list):
        raise DataError(f'{path}: "labels" must be a list')
    labels: Dict[FrameKey, PseudoLabel] = {}
    for index, entry in enumerate(entries):
        key, label = _parse_entry(entry, index, path)
        if key in labels:
            raise DataError(f'{path}: {_frame(key)} is listed twice')
        labels[key] = label
    return labels


def apply_pseudo_labels(infos: List[dict],
                        labels: Mapping[FrameKey, PseudoLabel],
                        path: str) -> int:
    """Give the ``"pseudo"`` frames of ``infos`` the file's poses in place
    (``has_pose=True``, ``pseudo_label=True``); return how many.

    Raises:
        DataError: naming ``path`` and the first frame that does not fit:
            an entry that is no frame of ``infos``, or ``"label"`` entries
            that are not exactly the labelled frames with their poses.
    """
    by_key = {(int(i['obj_id']), int(i['scene_id']), int(i['im_id'])): i
              for i in infos}
    for key, label in labels.items():
        info = by_key.get(key)
        if info is None:
            raise DataError(f'{path}: {_frame(key)} is not a frame of the '
                            "data set's split")
        if label.source == 'pseudo' and info['has_pose']:
            raise DataError(f'{path}: {_frame(key)} has a pseudo-label but '
                            'the data set labels it (the file was made '
                            'with another label_fraction?)')
        if label.source == 'label' and not info['has_pose']:
            raise DataError(f'{path}: {_frame(key)} is a "label" entry but '
                            'the data set does not label it (the file was '
                            'made with another label_fraction?)')
        if label.source == 'label' and not (
                np.abs(label.R - info['gt_R']).max() <= _LABEL_TOL
                and np.abs(label.t - info['gt_t']).max() <= _LABEL_TOL):
            raise DataError(f'{path}: {_frame(key)} is a "label" entry '
                            "whose pose differs from the data set's")
    for key, info in by_key.items():
        if info['has_pose'] and key not in labels:
            raise DataError(f'{path}: has no "label" entry for '
                            f'{_frame(key)}, which the data set labels (the '
                            'file was made with another label_fraction?)')
    pseudo = [key for key, label in labels.items() if label.source == 'pseudo']
    for key in pseudo:
        by_key[key].update(gt_R=labels[key].R.copy(),
                           gt_t=labels[key].t.copy(), has_pose=True,
                           pseudo_label=True)
    return len(pseudo)
