"""Sampler of (anchor, positive, negative) frame triplets."""
import math
from typing import Iterator, List, Optional, Sequence, Sized

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from posessl.datasets.sequences import SequenceIndex, TripletRule
from posessl.registry import DATA_SAMPLERS

__all__ = ['Triplet', 'TripletSampler']


class Triplet(tuple):
    """``(anchor, positive, negative)`` dataset indices with ``rule``, the
    :class:`TripletRule` they were drawn by."""

    rule: TripletRule

    def __new__(cls, anchor: int, positive: int, negative: int,
                rule: TripletRule) -> 'Triplet':
        triplet = super().__new__(cls, (int(anchor), int(positive),
                                        int(negative)))
        triplet.rule = rule
        return triplet

    def __reduce__(self) -> tuple:
        return Triplet, (*self, self.rule)


@DATA_SAMPLERS.register_module()
class TripletSampler(Sampler):
    """Yield :class:`Triplet` s of dataset indices.

    Every sample is an anchor once per epoch (:meth:`draw_anchors`). Its
    positive lies ``pos_range`` positions away and its negative
    ``neg_min_distance`` to ``neg_max_distance`` away, in the anchor's own
    sequence (same ``obj_id`` and ``scene_id``, sorted by ``im_id``): the
    distance uniform over the reachable ones, the direction random, a step
    past a sequence end reflected. Ranks split the epoch as in MMEngine's
    ``DefaultSampler``; the draws depend only on ``(seed, epoch)``.

    Args:
        dataset: needs ``len`` and ``get_data_info(i)`` with ``obj_id``,
            ``scene_id``, ``im_id`` (e.g. a :class:`TripletDataset`).
        shuffle: shuffle the anchors each epoch.
        seed: random seed (``None``: one synchronised across ranks).
        pos_range: ``(lo, hi)`` positive distance, inclusive.
        neg_min_distance: smallest negative distance.
        neg_max_distance: largest negative distance (``None``: no bound).
        round_up: pad so that every rank gets the same number.
        infinite: yield epoch after epoch without end (for an
            ``IterBasedTrainLoop``), the same triplets as restarting.

    Raises:
        ValueError: bad bounds, or a sequence too short for them (named).
    """

    def __init__(self,
                 dataset: Sized,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 pos_range: Sequence[int] = (1, 3),
                 neg_min_distance: int = 20,
                 neg_max_distance: Optional[int] = None,
                 round_up: bool = True,
                 infinite: bool = False) -> None:
        rank, world_size = get_dist_info()
        self.rank = rank
        self.world_size = world_size
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.epoch = 0
        self.round_up = round_up
        self.infinite = infinite
        self.rule = TripletRule(pos_range, neg_min_distance,
                                neg_max_distance)
        self.index = SequenceIndex(dataset)
        self.index.check(self.rule)
        n = len(self.index)
        if round_up:
            self.num_samples = math.ceil(n / world_size)
            self.total_size = self.num_samples * world_size
        else:
            self.num_samples = math.ceil((n - rank) / world_size)
            self.total_size = n

    def draw_anchors(self, rng: np.random.Generator) -> np.ndarray:
        """The epoch's anchors (N,) for all ranks: every sample once."""
        n = len(self.index)
        return rng.permutation(n) if self.shuffle else np.arange(n)

    def _triplets(self) -> np.ndarray:
        """The epoch's full (all ranks) list of triplets, (N, 3)."""
        rng = np.random.default_rng([self.seed % 2**32, self.epoch])
        anchors = self.draw_anchors(rng)
        pos = self.index.draw(anchors, *self.rule.pos_range, rng)
        neg = self.index.draw(anchors, self.rule.neg_min_distance,
                              self.rule.neg_max_distance, rng)
        return np.stack([anchors, pos, neg], axis=1)

    def _epoch_triplets(self) -> List[Triplet]:
        """This rank's triplets of the current epoch."""
        triplets = self._triplets()
        if self.round_up and len(triplets):
            reps = self.total_size // len(triplets) + 1
            triplets = np.tile(triplets, (reps, 1))[:self.total_size]
        mine = triplets[self.rank:self.total_size:self.world_size]
        return [Triplet(*row, self.rule) for row in mine.tolist()]

    def __iter__(self) -> Iterator[Triplet]:
        """This rank's triplets (epoch after epoch if ``infinite``)."""
        if not self.infinite:
            return iter(self._epoch_triplets())
        return self._endless()

    def _endless(self) -> Iterator[Triplet]:
        while True:
            yield from self._epoch_triplets()
            self.epoch += 1

    def __len__(self) -> int:
        """Number of triplets of this rank per epoch."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch; the draws depend on ``(seed, epoch)``."""
        self.epoch = epoch
