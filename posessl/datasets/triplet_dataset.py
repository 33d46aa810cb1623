"""Dataset wrapper that serves (anchor, positive, negative) triplets."""
from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import BaseDataset

from posessl.errors import DataError
from posessl.registry import DATASETS

from .sequences import SequenceIndex, TripletRule
from .transforms.loading import SKIPPED_KEY

__all__ = ['TripletDataset']


@DATASETS.register_module()
class TripletDataset:
    """Wrap a pose dataset so that it is indexed by frame triplets.

    ``dataset[(a, p, n)]`` (a ``TripletSampler`` :class:`Triplet`) runs the
    wrapped pipeline on the three frames and returns ``dict(inputs=uint8
    (3, 3, H, W)`` (anchor, positive, negative), ``data_samples=`` the
    anchor's sample with metainfo ``positive_frame_distance`` and
    ``negative_frame_distance`` (``|im_id|`` differences)).

    A frame the pipeline drops is replaced: a positive or negative by
    another drawn by the triplet's ``rule`` (the default
    :class:`TripletRule` for a plain tuple), an anchor by a random anchor
    with new partners. ``len``, ``metainfo``, ``get_data_info`` and
    ``full_init`` are the wrapped dataset's.

    Args:
        dataset: the wrapped dataset or its config.
        max_refetch: most replacements for one item.
        lazy_init: defer the wrapped dataset's ``full_init``.

    Raises:
        TypeError: an index that is not a triplet.
        DataError: no valid triplet after ``max_refetch`` replacements.
    """

    def __init__(self,
                 dataset: Union[BaseDataset, dict],
                 max_refetch: int = 100,
                 lazy_init: bool = False) -> None:
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        self.dataset = dataset
        self.max_refetch = int(max_refetch)
        self._index: Optional[SequenceIndex] = None
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's metainfo."""
        return self.dataset.metainfo

    def full_init(self) -> None:
        """Fully initialise the wrapped dataset."""
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()

    def get_data_info(self, idx: int) -> dict:
        """The wrapped dataset's data info ``idx``."""
        return self.dataset.get_data_info(idx)

    def __len__(self) -> int:
        return len(self.dataset)

    def _sequences(self) -> SequenceIndex:
        if self._index is None:
            self._index = SequenceIndex(self.dataset)
        return self._index

    def _redraw(self, anchor: int, lo: int, hi: Optional[int]) -> int:
        """A partner of ``anchor`` at a distance in ``[lo, hi]``."""
        rng = np.random.default_rng(np.random.randint(2**31))
        return int(self._sequences().draw(np.array([anchor]), lo, hi,
                                          rng)[0])

    def __getitem__(self, triplet: Sequence[int]) -> dict:
        """Pack the triplet ``(anchor, positive, negative)``."""
        if isinstance(triplet, (int, np.integer)) or len(triplet) != 3:
            raise TypeError(
                'TripletDataset is indexed by (anchor, positive, negative) '
                f'triplets, got {triplet!r}; use '
                "sampler=dict(type='TripletSampler')")
        idx = [int(i) for i in triplet]
        rule = getattr(triplet, 'rule', None) or TripletRule()
        bounds = {1: rule.pos_range,
                  2: (rule.neg_min_distance, rule.neg_max_distance)}
        results: list = [None, None, None]
        skipped: list = []  # reasons riding on partners and dropped items
        for _ in range(self.max_refetch + 1):
            for k in range(3):
                if results[k] is None:
                    results[k] = self.dataset.prepare_data(idx[k])
            if results[0] is None:
                skipped += _skipped(results[1:])
                idx[0] = int(np.random.randint(len(self)))
                idx[1] = self._redraw(idx[0], *bounds[1])
                idx[2] = self._redraw(idx[0], *bounds[2])
                results = [None, None, None]
                continue
            missing = [k for k in (1, 2) if results[k] is None]
            if not missing:
                return self._pack(idx, results, skipped)
            for k in missing:
                idx[k] = self._redraw(idx[0], *bounds[k])
        paths = [self.get_data_info(i)['img_path'] for i in idx]
        raise DataError(f'{paths[0]}: no valid triplet after '
                        f'{self.max_refetch} replacements (last tried '
                        f'{", ".join(paths)})')

    def _pack(self, idx: Sequence[int], results: Sequence[dict],
              skipped: Sequence[str] = ()) -> dict:
        """One item; the anchor's sample carries every skipped sample's
        reason the three crops brought (``SkippedSamplesHook`` counts
        them)."""
        inputs = torch.stack([r['inputs'] for r in results])
        sample = results[0]['data_samples']
        im = [self.get_data_info(i)['im_id'] for i in idx]
        meta = dict(positive_frame_distance=abs(int(im[1]) - int(im[0])),
                    negative_frame_distance=abs(int(im[2]) - int(im[0])))
        reasons = _skipped(results) + list(skipped)
        if reasons:
            meta[SKIPPED_KEY] = tuple(reasons)
        sample.set_metainfo(meta)
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(dataset={type(self.dataset).__name__}'
                f', len={len(self)})')


def _skipped(results: Sequence[Optional[dict]]) -> list:
    """The skipped samples' reasons the packed ``results`` carry."""
    return [reason for r in results if r is not None
            for reason in r['data_samples'].metainfo.get(SKIPPED_KEY, ())]
