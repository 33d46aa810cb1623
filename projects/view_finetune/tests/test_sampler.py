"""LabelledAnchorTripletSampler: the labelled frames as anchors, cycled, the
partners by the core sampler's rule."""
from collections import Counter

import pytest

from posessl.registry import DATA_SAMPLERS
from projects.view_finetune.view_finetune import LabelledAnchorTripletSampler
from tests.test_datasets.test_sampler import (
    SEQUENCES,
    FakeDataset,
    _positions,
)


def _build(dataset, seed=0, **kw):
    """Build through the registry, as the Runner does."""
    return DATA_SAMPLERS.build(
        dict(type='LabelledAnchorTripletSampler', **kw),
        default_args=dict(dataset=dataset, seed=seed))


def _with_labels(dataset, every: int):
    """Mark every ``every``-th index as labelled (``has_pose``)."""
    for i, info in enumerate(dataset.infos):
        info['has_pose'] = i % every == 0
    return dataset


def test_labelled_anchor_share_cycles_the_labelled_frames():
    ds = _with_labels(FakeDataset(SEQUENCES), every=41)  # 205 frames
    labelled = {i for i in range(len(ds)) if i % 41 == 0}  # 5 frames
    where = _positions(ds)
    sampler = _build(ds, seed=2, labelled_anchor_share=0.5)
    assert isinstance(sampler, LabelledAnchorTripletSampler)
    triplets = list(sampler)
    assert len(triplets) == len(sampler) == len(ds)
    anchors = Counter(a for a, _, _ in triplets)
    # round(0.5 * 205) = 102 labelled draws over 5 frames: each 20 or 21
    # times (each once before any repeats), plus at most once among the
    # 103 others drawn without replacement from all 205 frames
    for i in labelled:
        assert 20 <= anchors[i] <= 22, (i, anchors[i])
    assert sum(anchors[i] for i in labelled) >= 102
    assert all(n == 1 for i, n in anchors.items() if i not in labelled)
    assert sum(anchors.values()) == 205
    # the labelled draws are spread through the epoch, not one block
    first_half = sum(a in labelled for a, _, _ in triplets[:102])
    assert 35 <= first_half <= 75
    # partners follow the distance rule, which the triplets carry
    for a, p, n in triplets:
        (ka, pa), (kp, pp), (kn, pn) = where[a], where[p], where[n]
        assert ka == kp == kn
        assert 1 <= abs(pp - pa) <= 3 and abs(pn - pa) >= 20
    assert triplets[0].rule is sampler.rule
    # deterministic for (seed, epoch), and a new epoch draws anew
    assert triplets == list(_build(ds, seed=2, labelled_anchor_share=0.5))
    sampler.set_epoch(1)
    assert list(sampler) != triplets
    # share 1 (the default): every anchor is labelled
    assert {a for a, _, _ in _build(ds, seed=2)} == labelled


def test_infinite_stream_is_the_epochs_in_order():
    ds = _with_labels(FakeDataset(SEQUENCES), every=7)
    kw = dict(seed=4, labelled_anchor_share=0.5)
    stream = iter(_build(ds, infinite=True, **kw))
    expected = []
    for epoch in range(3):  # what restarting the loader each epoch gives
        sampler = _build(ds, **kw)
        sampler.set_epoch(epoch)
        expected += list(sampler)
    assert [next(stream) for _ in expected] == expected


def test_errors_name_the_sampler_and_the_problem():
    ds = FakeDataset(SEQUENCES)  # no has_pose anywhere
    with pytest.raises(ValueError, match='none of the 205 frames of '
                       'FakeDataset has a pose label'):
        _build(ds, labelled_anchor_share=0.5)
    _with_labels(ds, every=10)
    for share in (0.0, 1.5):
        with pytest.raises(ValueError, match=r'LabelledAnchorTripletSampler'
                           r': labelled_anchor_share must be in \(0, 1\]'):
            _build(ds, labelled_anchor_share=share)
