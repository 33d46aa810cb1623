"""Sampler of (anchor, positive, negative) frame triplets."""
import math
from typing import Iterator, Optional, Sequence, Sized, Tuple

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from posessl.datasets.sequences import SequenceIndex, TripletRule
from posessl.registry import DATA_SAMPLERS

__all__ = ['TripletSampler']


@DATA_SAMPLERS.register_module()
class TripletSampler(Sampler):
    """Yield ``(anchor, positive, negative)`` dataset-index triplets.

    Every sample is an anchor once per epoch (shuffled or in order). Its
    positive lies ``pos_range`` positions away and its negative at least
    ``neg_min_distance`` (at most ``neg_max_distance``) positions away, both
    in the anchor's own sequence (same ``obj_id`` and ``scene_id``, frames
    sorted by ``im_id``). The distance is uniform over the reachable ones,
    the direction random, and a step past a sequence end is reflected
    (``anchor - d`` instead of ``anchor + d``).

    Follows MMEngine's ``DefaultSampler``: the seed is shared across ranks
    (``sync_random_seed``), draws depend only on ``(seed, epoch)``
    (:meth:`set_epoch`), and rank ``r`` of ``w`` takes triplets ``r, r + w,
    ...`` of the epoch's list, padded to a multiple of ``w`` when
    ``round_up``; ``len()`` is the number per rank.

    Args:
        dataset: The dataset (e.g. a :class:`TripletDataset`); needs
            ``get_data_info(i)`` with ``obj_id``, ``scene_id``, ``im_id``.
        shuffle: Shuffle the anchors each epoch.
        seed: Random seed (``None``: a seed synchronised across ranks).
        pos_range: ``(lo, hi)`` positive distance, inclusive.
        neg_min_distance: Smallest negative distance.
        neg_max_distance: Largest negative distance (``None``: no bound).
        round_up: Pad so that every rank gets the same number.
        labelled_anchor_share: ``None`` (default): every sample is an anchor
            once per epoch. A share in (0, 1] (for semi-supervised
            fine-tuning, ``SemiSupervisedPoseRegressor``): that share of the
            epoch's anchors are labelled frames (``has_pose`` in the data
            info; each once before any repeats, so a small labelled set is
            cycled), the rest a random pick of all frames, shuffled together;
            the epoch keeps ``len(dataset)`` anchors.
        infinite: Yield epoch after epoch (0, 1, ... from :meth:`set_epoch`'s
            one) without end, like MMEngine's ``InfiniteSampler``, for an
            ``IterBasedTrainLoop``: the same triplets in the same order as
            restarting the loader each epoch, without the loop's 2 s pause
            and warning at every restart (and without a short last batch
            per epoch: batches run on across epochs).

    Raises:
        ValueError: bad bounds, or a sequence too short for them (named);
            a labelled share with no labelled frame.
    """

    def __init__(self,
                 dataset: Sized,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 pos_range: Sequence[int] = (1, 3),
                 neg_min_distance: int = 20,
                 neg_max_distance: Optional[int] = None,
                 round_up: bool = True,
                 labelled_anchor_share: Optional[float] = None,
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
        if hasattr(dataset, 'triplet_rule'):
            # The dataset redraws a member whose pipeline drops it with the
            # same bounds.
            dataset.triplet_rule = self.rule
        self.labelled_anchor_share = labelled_anchor_share
        self.labelled = self._labelled_frames(dataset, labelled_anchor_share)
        n = len(self.index)
        if round_up:
            self.num_samples = math.ceil(n / world_size)
            self.total_size = self.num_samples * world_size
        else:
            self.num_samples = math.ceil((n - rank) / world_size)
            self.total_size = n

    @staticmethod
    def _labelled_frames(dataset: Sized,
                         share: Optional[float]) -> Optional[np.ndarray]:
        """Indices of the labelled frames when a labelled share is asked."""
        if share is None:
            return None
        if not 0 < share <= 1:
            raise ValueError('labelled_anchor_share must be in (0, 1], got '
                             f'{share}')
        labelled = np.flatnonzero([
            bool(dataset.get_data_info(i).get('has_pose', False))
            for i in range(len(dataset))
        ])
        if len(labelled) == 0:
            raise ValueError(
                f'labelled_anchor_share={share}, but none of the '
                f'{len(dataset)} frames of {type(dataset).__name__} has a '
                'pose label (has_pose); set the dataset\'s label_fraction '
                'with labelled_only=False')
        return labelled

    def _anchors(self, rng: np.random.Generator) -> np.ndarray:
        """The epoch's anchors (N,)."""
        n = len(self.index)
        if self.labelled is None:
            return rng.permutation(n) if self.shuffle else np.arange(n)
        n_lab = int(round(self.labelled_anchor_share * n))
        cycles = -(-n_lab // len(self.labelled))
        labelled = np.concatenate(
            [rng.permutation(self.labelled) for _ in range(cycles)])[:n_lab]
        others = rng.permutation(n)[:n - n_lab]
        return rng.permutation(np.concatenate([labelled, others]))

    def _triplets(self) -> np.ndarray:
        """The epoch's full (all ranks) list of triplets, (N, 3)."""
        rng = np.random.default_rng([self.seed % 2**32, self.epoch])
        anchors = self._anchors(rng)
        pos = self.index.draw(anchors, *self.rule.pos_range, rng)
        neg = self.index.draw(anchors, self.rule.neg_min_distance,
                              self.rule.neg_max_distance, rng)
        return np.stack([anchors, pos, neg], axis=1)

    def _epoch_triplets(self) -> list:
        """This rank's triplets of the current epoch."""
        triplets = self._triplets()
        if self.round_up and len(triplets):
            reps = self.total_size // len(triplets) + 1
            triplets = np.tile(triplets, (reps, 1))[:self.total_size]
        mine = triplets[self.rank:self.total_size:self.world_size]
        return [tuple(int(v) for v in row) for row in mine]

    def __iter__(self) -> Iterator[Tuple[int, int, int]]:
        """Iterate this rank's triplets (epoch after epoch if infinite)."""
        if not self.infinite:
            return iter(self._epoch_triplets())
        return self._endless()

    def _endless(self) -> Iterator[Tuple[int, int, int]]:
        while True:
            yield from self._epoch_triplets()
            self.epoch += 1

    def __len__(self) -> int:
        """Number of triplets of this rank per epoch."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch; the draws depend on ``(seed, epoch)``."""
        self.epoch = epoch
