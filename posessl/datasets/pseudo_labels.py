"""Pseudo-labels for the unlabelled training frames: the video-consistency
filter and the file the datasets read.

A teacher's pose of an unlabelled frame is kept only if it agrees with the
teacher's poses of the frame's neighbours along the video. Sequences are the
datasets' (``base.py``): the frames of one ``(obj_id, scene_id)`` sorted by
``im_id``, and a frame's neighbours are the frames within ``window``
*positions* of it on each side (positions among the frames given, so gaps in
``im_id`` do not matter).

**Filter rule.** Two poses agree when their geodesic rotation difference is
at most ``max_rot_deg`` and their translation difference at most
``max_trans_mm`` (both inclusive; a non-finite pose agrees with nothing).
A frame is consistent when a strict majority of its neighbours present
agree with it (``agreement='majority'``: 3 of 4 inside a sequence with
``window=2``, 2 of 3 next to an end, both at an end), or every one does
(``agreement='all'``). A frame without neighbours (a one-frame sequence) is
never consistent. With ``window=1`` the two rules are the same.

The thresholds must exceed the true motion across the window, which the
rule does not model: on the real-mesh set neighbouring training frames are
a median 4 deg and 22 mm apart (8 deg and 44 mm two apart), so 10 deg /
20 mm with ``window=2`` keeps 11 % of even the true poses, 20 deg / 100 mm
(the defaults) 98 %. ``'majority'`` is the default because one outlier
then costs only itself, where ``'all'`` also rejects the ``2 * window``
frames around it (on a simulated teacher: 78 against 49 % of the frames
kept, as accurate).
Agreeing is not being right: a teacher that predicts nearly one pose for
every frame passes.

**File** (``tools/pseudo_label.py`` writes it, the ``pseudo_labels`` option
of :class:`~posessl.datasets.LinemodBaseDataset` reads it)::

    {"header": {"format": "posessl-pseudo-labels", "version": 1, ...},
     "labels": [{"obj_id": 1, "scene_id": 1, "im_id": 7,
                 "R": [9 floats, row-major], "t": [3 floats, mm],
                 "source": "label" | "pseudo"}, ...]}

One entry per frame (``(obj_id, scene_id, im_id)`` unique); ``"label"``
entries copy the data set's own labels, ``"pseudo"`` entries are the
teacher's kept poses. The rest of the header (teacher, filter, counts) is
for people, not read back.

Here rather than in :mod:`posessl.evaluation`: the datasets must read the
file and never import the evaluation, and the filter is a rule on the
datasets' sequences that needs only :mod:`posessl.geometry`.
"""
import json
import os
from typing import Any, Dict, List, Mapping, NamedTuple, Sequence, Tuple

import numpy as np
import torch

from posessl.geometry import geodesic_distance
from posessl.structures.io import DataError, read_json

__all__ = [
    'FORMAT', 'VERSION', 'AGREEMENTS', 'SOURCES', 'PseudoLabel',
    'neighbour_agreement', 'consistent_in_sequence', 'consistent_frames',
    'read_pseudo_labels', 'write_pseudo_labels', 'apply_pseudo_labels'
]

#: ``header.format`` of a pseudo-label file.
FORMAT = 'posessl-pseudo-labels'
#: ``header.version`` this module writes and reads.
VERSION = 1
#: The consistency rules of :func:`consistent_in_sequence`.
AGREEMENTS = ('majority', 'all')
#: The ``source`` of an entry: the data set's own label, or the teacher's.
SOURCES = ('label', 'pseudo')
#: A file's rotation is accepted as the datasets accept an annotation's
#: (``annotations.check_pose``): LINEMOD's own labels are orthonormal to
#: about 1 % only, and ``"label"`` entries copy them.
_ROTATION_TOL = 0.05
#: Largest difference between a ``"label"`` entry and the data set's label
#: (R entries, t in mm): JSON keeps float64 exactly, so this only absorbs
#: a writer that rounds to about seven digits.
_LABEL_TOL = 1e-6

FrameKey = Tuple[int, int, int]


class PseudoLabel(NamedTuple):
    """One entry of a pseudo-label file."""

    R: np.ndarray  # (3, 3) float64
    t: np.ndarray  # (3,) float64, mm
    source: str  # 'label' or 'pseudo'


def _frame(key: FrameKey) -> str:
    return f'obj_id {key[0]} scene_id {key[1]} im_id {key[2]}'


# -- the consistency filter ----------------------------------------------
def neighbour_agreement(R: Any, t: Any, window: int, max_rot_deg: float,
                        max_trans_mm: float
                        ) -> Tuple[np.ndarray, np.ndarray]:
    """How many neighbours of each frame of one sequence agree with it.

    Args:
        R: (n, 3, 3) rotations of the sequence's frames, in video order.
        t: (n, 3) translations, mm.
        window: Neighbours up to this many positions away on each side.
        max_rot_deg: Largest geodesic rotation difference that agrees.
        max_trans_mm: Largest translation difference that agrees.

    Returns:
        ``(agree, present)``: (n,) int64 counts of the agreeing neighbours
        and of the neighbours inside the sequence.
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
    """Which frames of one sequence pass the filter (module docstring).

    Args:
        R, t, window, max_rot_deg, max_trans_mm: See
            :func:`neighbour_agreement`.
        agreement: ``'majority'`` or ``'all'`` of the neighbours present.

    Returns:
        (n,) bool.
    """
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
    """:func:`consistent_in_sequence` over frames of many sequences.

    The frames may come in any order; each ``(obj_id, scene_id)`` is sorted
    by ``im_id`` before its neighbours are taken.

    Args:
        obj_ids, scene_ids, im_ids: (N,) keys of the frames.
        R, t: (N, 3, 3) and (N, 3) poses.
        **rule: ``window``, ``max_rot_deg``, ``max_trans_mm``,
            ``agreement``.

    Returns:
        (N,) bool, in the frames' order.

    Raises:
        ValueError: two frames share one ``(obj_id, scene_id, im_id)``.
    """
    keys = np.stack([np.asarray(k, dtype=np.int64).reshape(-1)
                     for k in (obj_ids, scene_ids, im_ids)], axis=1)
    R = np.asarray(R, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    order = np.lexsort((keys[:, 2], keys[:, 1], keys[:, 0]))
    sorted_keys = keys[order]
    same = np.all(sorted_keys[1:] == sorted_keys[:-1], axis=1)
    if same.any():
        first = tuple(int(v) for v in sorted_keys[1:][same][0])
        raise ValueError(f'two frames share {_frame(first)}')
    new_seq = np.ones(len(keys), dtype=bool)
    new_seq[1:] = np.any(sorted_keys[1:, :2] != sorted_keys[:-1, :2], axis=1)
    bounds = np.append(np.flatnonzero(new_seq), len(keys))
    keep = np.zeros(len(keys), dtype=bool)
    for start, stop in zip(bounds[:-1], bounds[1:]):
        rows = order[start:stop]
        keep[rows] = consistent_in_sequence(R[rows], t[rows], **rule)
    return keep


# -- the file ------------------------------------------------------------
def write_pseudo_labels(path: str, header: Mapping[str, Any],
                        entries: Sequence[Mapping[str, Any]]) -> None:
    """Write a pseudo-label file (module docstring) atomically.

    Args:
        path: Output ``.json``; its folder is created.
        header: Anything JSON-serialisable; ``format`` and ``version`` are
            set here.
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
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
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
    where = f'{path}: {_frame(key)}'
    if entry['source'] not in SOURCES:
        raise DataError(f"{where}: source must be 'label' or 'pseudo', got "
                        f"{entry['source']!r}")
    try:
        R = np.asarray(entry['R'], dtype=np.float64).reshape(3, 3)
        t = np.asarray(entry['t'], dtype=np.float64).reshape(3)
    except (TypeError, ValueError):
        raise DataError(f'{where}: R must be 9 numbers and t 3') from None
    if not (np.isfinite(R).all() and np.isfinite(t).all()):
        raise DataError(f'{where}: the pose has non-finite values')
    if (np.abs(R @ R.T - np.eye(3)).max() > _ROTATION_TOL
            or abs(np.linalg.det(R) - 1.0) > _ROTATION_TOL):
        raise DataError(f'{where}: R is not a rotation')
    return key, PseudoLabel(R, t, entry['source'])


def read_pseudo_labels(path: str) -> Dict[FrameKey, PseudoLabel]:
    """Read and check a pseudo-label file.

    Returns:
        ``{(obj_id, scene_id, im_id): PseudoLabel}`` in the file's order.

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: not JSON, not a pseudo-label file, or a bad entry
            (naming the first one).
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
    """Give the pseudo-labelled frames of ``infos`` their poses, in place.

    Each ``"pseudo"`` frame gets ``gt_R``, ``gt_t`` from the file,
    ``has_pose=True`` and ``pseudo_label=True``; labelled frames keep their
    own poses. The file must fit the data set exactly: its ``"label"``
    entries are the data set's labelled frames with the same poses, and
    every entry names a frame of ``infos``.

    Args:
        infos: Data infos with ``obj_id``, ``scene_id``, ``im_id``,
            ``gt_R``, ``gt_t``, ``has_pose`` (the split, before
            ``labelled_only`` drops anything).
        labels: :func:`read_pseudo_labels`'s result.
        path: The file, for the messages.

    Returns:
        The number of pseudo-labelled frames.

    Raises:
        DataError: naming the file and the first frame that does not fit.
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
    count = 0
    for key, label in labels.items():
        if label.source == 'pseudo':
            info = by_key[key]
            info.update(gt_R=label.R.copy(), gt_t=label.t.copy(),
                        has_pose=True, pseudo_label=True)
            count += 1
    return count

