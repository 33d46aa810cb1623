"""TripletSampler: distances, sequences, determinism and DDP ranks."""
import pickle
from collections import Counter
from unittest import mock

import numpy as np
import pytest

from posessl.datasets.samplers import Triplet
from posessl.registry import DATA_SAMPLERS


class FakeDataset:
    """Sequences given as ``{(obj_id, scene_id): im_ids}``, interleaved in
    index order so that sequence positions differ from dataset indices."""

    def __init__(self, sequences):
        infos = [
            dict(obj_id=o, scene_id=s, im_id=i)
            for (o, s), ids in sequences.items() for i in ids
        ]
        order = np.random.default_rng(0).permutation(len(infos))
        self.infos = [infos[k] for k in order]

    def __len__(self):
        return len(self.infos)

    def get_data_info(self, idx):
        return dict(self.infos[idx])


SEQUENCES = {
    (1, 1): list(range(0, 60)),
    (2, 2): list(range(0, 300, 5)),  # im_ids 0, 5, 10, ...: gaps
    (3, 2): list(range(100, 145)),  # same scene, another object
    (4, 4): list(range(40)),  # exactly 2 * neg_min_distance
}


def _build(dataset, seed=0, **kw):
    """Build through the registry, as the Runner does."""
    return DATA_SAMPLERS.build(dict(type='TripletSampler', **kw),
                               default_args=dict(dataset=dataset, seed=seed))


def _positions(dataset):
    """index -> (sequence key, position by im_id) (brute force)."""
    out = {}
    for key in SEQUENCES:
        members = [i for i, d in enumerate(dataset.infos)
                   if (d['obj_id'], d['scene_id']) == key]
        members.sort(key=lambda i: dataset.infos[i]['im_id'])
        for p, i in enumerate(members):
            out[i] = (key, p)
    return out


def test_10000_draws_obey_bounds_and_sequences():
    ds = FakeDataset(SEQUENCES)
    where = _positions(ds)
    sampler = _build(ds, seed=3)
    triplets = []
    epoch = 0
    while len(triplets) < 10000:
        sampler.set_epoch(epoch)
        triplets.extend(sampler)
        epoch += 1
    pos_d, neg_d = Counter(), []
    for a, p, n in triplets[:10000]:
        (ka, pa), (kp, pp), (kn, pn) = where[a], where[p], where[n]
        assert ka == kp == kn  # never crosses into another sequence
        assert 1 <= abs(pp - pa) <= 3
        assert abs(pn - pa) >= 20
        pos_d[abs(pp - pa)] += 1
        neg_d.append(abs(pn - pa))
    # every allowed positive distance is used, roughly uniformly
    assert set(pos_d) == {1, 2, 3}
    assert min(pos_d.values()) > 0.28 * 10000
    assert max(neg_d) >= 40


def test_reflection_at_sequence_ends():
    ds = FakeDataset({(1, 1): list(range(50))})
    sampler = _build(ds, seed=0, pos_range=(2, 2), neg_min_distance=25)
    for epoch in range(20):
        sampler.set_epoch(epoch)
        for a, p, n in sampler:
            pa = ds.infos[a]['im_id']
            pp = ds.infos[p]['im_id']
            pn = ds.infos[n]['im_id']
            assert abs(pp - pa) == 2 and abs(pn - pa) >= 25
            if pa < 2:  # cannot go back: forward
                assert pp == pa + 2
            if pa > 47:
                assert pp == pa - 2
            if pa == 24:  # only 49 is 25 away
                assert pn == 49
            if pa == 25:
                assert pn == 0


def test_both_directions_in_the_interior():
    ds = FakeDataset({(1, 1): list(range(100))})
    sampler = _build(ds, seed=0, pos_range=(1, 1))
    signs = Counter()
    for epoch in range(10):
        sampler.set_epoch(epoch)
        for a, p, _ in sampler:
            if 10 <= ds.infos[a]['im_id'] < 90:
                signs[ds.infos[p]['im_id'] - ds.infos[a]['im_id']] += 1
    assert set(signs) == {-1, 1}
    assert abs(signs[1] - signs[-1]) < 0.1 * sum(signs.values())


def test_negative_max_distance():
    ds = FakeDataset(SEQUENCES)
    where = _positions(ds)
    sampler = _build(ds, seed=1, neg_min_distance=20, neg_max_distance=22)
    dists = {abs(where[n][1] - where[a][1]) for a, _, n in sampler}
    assert dists == {20, 21, 22}


def test_deterministic_for_seed_and_epoch():
    ds = FakeDataset(SEQUENCES)
    first = list(_build(ds, seed=7))
    assert first == list(_build(ds, seed=7))
    assert first != list(_build(ds, seed=8))
    other_epoch = _build(ds, seed=7)
    other_epoch.set_epoch(1)
    assert first != list(other_epoch)
    # the anchors are a permutation of the dataset
    assert sorted(a for a, _, _ in first) == list(range(len(ds)))
    in_order = list(_build(ds, seed=7, shuffle=False))
    assert [a for a, _, _ in in_order] == list(range(len(ds)))


def test_ranks_draw_disjoint_anchors():
    ds = FakeDataset(SEQUENCES)  # 205 frames: odd, so round_up pads one
    module = 'posessl.datasets.samplers.triplet_sampler.get_dist_info'
    per_rank = []
    for rank in (0, 1):
        with mock.patch(module, return_value=(rank, 2)):
            sampler = _build(ds, seed=5)
        assert len(sampler) == 103
        per_rank.append(list(sampler))
        assert len(per_rank[-1]) == 103
    a0 = [t[0] for t in per_rank[0]]
    a1 = [t[0] for t in per_rank[1]]
    assert set(a0) | set(a1) == set(range(len(ds)))
    # only the one padding triplet (the epoch's first) repeats
    assert len(set(a0) & set(a1)) == 1
    # ranks share the epoch's draws: interleaving them gives rank-free order
    with mock.patch(module, return_value=(0, 1)):
        single = list(_build(ds, seed=5))
    merged = [t for pair in zip(per_rank[0], per_rank[1]) for t in pair]
    assert merged[:len(single)] == single
    with mock.patch(module, return_value=(1, 2)):
        no_pad = _build(ds, seed=5, round_up=False)
    assert len(no_pad) == len(list(no_pad)) == 102


def test_short_sequence_is_a_clear_error():
    ds = FakeDataset({(1, 1): list(range(60)), (7, 3): list(range(30))})
    with pytest.raises(ValueError, match='object 7 in scene 3 has 30 frames;'
                       ' a negative at least 20 frames away'):
        _build(ds)
    with pytest.raises(ValueError, match='neg_min_distance'):
        _build(ds, pos_range=(1, 25), neg_min_distance=20)
    with pytest.raises(ValueError, match='pos_range'):
        _build(ds, pos_range=(0, 2))


def test_triplets_carry_the_rule_and_leave_the_dataset_alone():
    ds = FakeDataset(SEQUENCES)
    before = dict(vars(ds))
    sampler = _build(ds, seed=0, neg_min_distance=20, neg_max_distance=30)
    triplets = list(sampler)
    assert vars(ds).keys() == before.keys()  # nothing written into it
    first = triplets[0]
    assert isinstance(first, Triplet) and isinstance(first, tuple)
    assert first.rule is sampler.rule
    assert first == tuple(first) and len(first) == 3
    a, p, n = first
    assert all(type(v) is int for v in (a, p, n))
    # pickled to the loader's workers with its rule
    copy = pickle.loads(pickle.dumps(first))
    assert copy == first and type(copy) is Triplet
    assert (copy.rule.neg_min_distance, copy.rule.neg_max_distance) == (
        20, 30)


def test_infinite_sampler_streams_the_epochs_in_order():
    ds = FakeDataset(SEQUENCES)
    kw = dict(seed=4, shuffle=True)
    stream = iter(_build(ds, infinite=True, **kw))
    expected = []
    for epoch in range(3):  # what restarting the loader each epoch gives
        sampler = _build(ds, **kw)
        sampler.set_epoch(epoch)
        expected += list(sampler)
    assert [next(stream) for _ in expected] == expected
