"""Viewpoint sequences of a dataset and the triplet distance rule.

A sequence is the samples of one ``(obj_id, scene_id)`` sorted by
``im_id``; a frame's *position* is its rank in its sequence.
"""
from typing import Any, Optional, Sequence, Tuple

import numpy as np

__all__ = ['SequenceIndex', 'TripletRule', 'sequence_order']


def sequence_order(keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``(order, starts)`` of (n, 3) ``(obj_id, scene_id, im_id)`` rows: the
    stable sort by key, and where each sequence begins in it."""
    keys = np.asarray(keys, dtype=np.int64).reshape(-1, 3)
    order = np.lexsort((keys[:, 2], keys[:, 1], keys[:, 0]))
    sorted_keys = keys[order, :2]
    new_seq = np.ones(len(keys), dtype=bool)
    new_seq[1:] = np.any(sorted_keys[1:] != sorted_keys[:-1], axis=1)
    return order, np.flatnonzero(new_seq)


class TripletRule:
    """Positive and negative distance bounds, in positions.

    Args:
        pos_range: ``(lo, hi)`` positive distance, inclusive, ``lo >= 1``.
        neg_min_distance: Smallest negative distance (> ``hi``).
        neg_max_distance: Largest negative distance (``None``: no bound).
    """

    def __init__(self,
                 pos_range: Sequence[int] = (1, 3),
                 neg_min_distance: int = 20,
                 neg_max_distance: Optional[int] = None) -> None:
        lo, hi = (int(v) for v in pos_range)
        if not 1 <= lo <= hi:
            raise ValueError(f'pos_range must satisfy 1 <= lo <= hi, got '
                             f'{tuple(pos_range)}')
        if int(neg_min_distance) <= hi:
            raise ValueError(f'neg_min_distance ({neg_min_distance}) must '
                             f'exceed the largest positive distance ({hi})')
        if neg_max_distance is not None and \
                int(neg_max_distance) < int(neg_min_distance):
            raise ValueError(f'neg_max_distance ({neg_max_distance}) is '
                             f'below neg_min_distance ({neg_min_distance})')
        self.pos_range = (lo, hi)
        self.neg_min_distance = int(neg_min_distance)
        self.neg_max_distance = None if neg_max_distance is None else int(
            neg_max_distance)

    def __repr__(self) -> str:
        return (f'TripletRule(pos_range={self.pos_range}, neg_min_distance='
                f'{self.neg_min_distance}, neg_max_distance='
                f'{self.neg_max_distance})')


class SequenceIndex:
    """Sequence and position of each sample of ``dataset`` (anything with
    ``__len__`` and ``get_data_info(i)`` giving ``obj_id``, ``scene_id`` and
    ``im_id``)."""

    def __init__(self, dataset: Any) -> None:
        n = len(dataset)
        keys = np.empty((n, 3), dtype=np.int64)
        for i in range(n):
            info = dataset.get_data_info(i)
            keys[i] = (info['obj_id'], info['scene_id'], info['im_id'])
        order, starts = sequence_order(keys)
        self.order = order
        self.starts = starts
        self.lengths = np.diff(np.append(starts, n))
        self.seq_keys: Tuple[Tuple[int, int], ...] = tuple(
            (int(a), int(b)) for a, b in keys[order[starts], :2])
        seq_of_rank = np.repeat(np.arange(len(starts)), self.lengths)
        self.seq = np.empty(n, dtype=np.int64)
        self.seq[order] = seq_of_rank
        self.pos = np.empty(n, dtype=np.int64)
        self.pos[order] = np.arange(n) - starts[seq_of_rank]

    def __len__(self) -> int:
        return len(self.order)

    def check(self, rule: TripletRule) -> None:
        """Refuse a sequence too short for every anchor to reach a positive
        and a negative (reflecting at the ends needs ``2 * lo`` frames)."""
        need = {
            'positive': rule.pos_range[0],
            'negative': rule.neg_min_distance
        }
        for (obj_id, scene_id), length in zip(self.seq_keys, self.lengths):
            for what, lo in need.items():
                if length < 2 * lo:
                    raise ValueError(
                        f'sequence of object {obj_id} in scene {scene_id} '
                        f'has {length} frames; a {what} at least {lo} '
                        f'frames away from every anchor needs {2 * lo} '
                        'frames (lower the distance or use more frames)')

    def draw(self, anchors: np.ndarray, lo: int, hi: Optional[int],
             rng: np.random.Generator) -> np.ndarray:
        """Dataset indices of partners ``lo..hi`` (``None``: unbounded)
        positions from each anchor in its sequence.

        The distance is uniform over those reachable from the anchor, the
        direction random, and a step off one end is taken the other way.
        """
        anchors = np.asarray(anchors, dtype=np.int64)
        seq = self.seq[anchors]
        pos = self.pos[anchors]
        length = self.lengths[seq]
        reach = np.maximum(pos, length - 1 - pos)
        top = reach if hi is None else np.minimum(reach, hi)
        if np.any(top < lo):
            raise ValueError('an anchor cannot reach a partner: call '
                             'check() first')
        dist = rng.integers(lo, top + 1)
        sign = np.where(rng.random(len(anchors)) < 0.5, -1, 1)
        target = pos + sign * dist
        off = (target < 0) | (target >= length)
        target[off] = pos[off] - sign[off] * dist[off]
        return self.order[self.starts[seq] + target]
