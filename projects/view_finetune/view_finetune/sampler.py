"""``TripletSampler`` whose anchors are mostly the labelled frames."""
from typing import Sized

import numpy as np

from posessl.datasets.samplers import TripletSampler
from posessl.registry import DATA_SAMPLERS

__all__ = ['LabelledAnchorTripletSampler']


@DATA_SAMPLERS.register_module()
class LabelledAnchorTripletSampler(TripletSampler):
    """A ``TripletSampler`` whose epoch still has ``len(dataset)`` anchors,
    a share ``labelled_anchor_share`` of them labelled frames (``has_pose``
    in the data info; each once before any repeats, so a small labelled set
    is cycled), the rest a random pick of all frames, shuffled together.
    Positives and negatives are any frames, drawn as the core sampler does.

    Args:
        dataset: as ``TripletSampler``; a dataset with labelled and
            unlabelled frames (``labelled_only=False``).
        labelled_anchor_share: in (0, 1].
        **kwargs: ``TripletSampler``'s other arguments.

    Raises:
        ValueError: a share outside (0, 1], or no labelled frame.
    """

    def __init__(self, dataset: Sized, labelled_anchor_share: float = 1.0,
                 **kwargs) -> None:
        super().__init__(dataset, **kwargs)
        share = float(labelled_anchor_share)
        if not 0 < share <= 1:
            raise ValueError('LabelledAnchorTripletSampler: '
                             'labelled_anchor_share must be in (0, 1], got '
                             f'{labelled_anchor_share}')
        self.labelled_anchor_share = share
        self.labelled = np.flatnonzero([
            bool(dataset.get_data_info(i).get('has_pose', False))
            for i in range(len(dataset))
        ])
        if len(self.labelled) == 0:
            raise ValueError(
                f'LabelledAnchorTripletSampler: none of the {len(dataset)} '
                f'frames of {type(dataset).__name__} has a pose label '
                "(has_pose); set the dataset's label_fraction with "
                'labelled_only=False')

    def draw_anchors(self, rng: np.random.Generator) -> np.ndarray:
        """The epoch's anchors (N,): ``round(share * N)`` labelled ones and
        the rest from all frames, shuffled together."""
        n = len(self.index)
        n_lab = int(round(self.labelled_anchor_share * n))
        cycles = -(-n_lab // len(self.labelled))
        labelled = np.concatenate(
            [rng.permutation(self.labelled) for _ in range(cycles)])[:n_lab]
        others = rng.permutation(n)[:n - n_lab]
        return rng.permutation(np.concatenate([labelled, others]))
