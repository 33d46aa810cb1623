"""The video-consistency filter on hand-made trajectories (checked by hand
and against a brute-force loop with scipy), and the ``pseudo_labels``
dataset option on the hand-made set, with its errors."""
import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from posessl.datasets import DataError
from posessl.datasets.pseudo_labels import (
    consistent_frames,
    consistent_in_sequence,
    neighbour_agreement,
    read_pseudo_labels,
    write_pseudo_labels,
)
from posessl.registry import DATASETS

from .conftest import NUM_FRAMES, TRAIN_IDS

#: positions of the labelled frames at label_fraction 0.25 of 24 frames
LABELLED = [2, 6, 10, 14, 18, 22]


# -- the filter ----------------------------------------------------------
def smooth(n: int, deg_step: float = 2.0, mm_step: float = 5.0):
    """A turn of ``deg_step`` about z and a step of ``mm_step`` in x per
    frame: neighbours two apart differ by 4 deg and 10 mm."""
    R = Rotation.from_euler('z', deg_step * np.arange(n)[:, None],
                            degrees=True).as_matrix()
    t = np.stack([mm_step * np.arange(n), np.zeros(n), np.full(n, 600.0)],
                 axis=1)
    return R, t


def turned(R: np.ndarray) -> np.ndarray:
    """``R`` turned 90 deg about x: an outlier of any neighbour."""
    return Rotation.from_euler('x', 90, degrees=True).as_matrix() @ R


def two_outliers(n: int = 12):
    """The smooth path with a flipped frame 5 and frame 11 (the last)
    100 mm too deep."""
    R, t = smooth(n)
    R[5] = turned(R[5])
    t[11, 2] += 100.0
    return R, t


def test_two_outliers_by_hand():
    R, t = two_outliers()
    agree, present = neighbour_agreement(R, t, 2, 10.0, 20.0)
    assert present.tolist() == [2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 3, 2]
    assert agree.tolist() == [2, 3, 4, 3, 3, 0, 3, 3, 4, 3, 2, 0]
    # majority: one outlier in a window costs only the outlier itself
    keep = consistent_in_sequence(R, t, 2, 10.0, 20.0, 'majority')
    assert np.flatnonzero(~keep).tolist() == [5, 11]
    # all: every frame within two positions of an outlier goes too
    keep = consistent_in_sequence(R, t, 2, 10.0, 20.0, 'all')
    assert np.flatnonzero(keep).tolist() == [0, 1, 2, 8]
    # with window 1 the frames two away from an outlier do not see it
    keep = consistent_in_sequence(R, t, 1, 10.0, 20.0, 'all')
    assert np.flatnonzero(~keep).tolist() == [4, 5, 6, 10, 11]


def test_two_adjacent_outliers_that_agree_with_each_other():
    R, t = smooth(12)
    R[5], R[6] = turned(R[5]), turned(R[6])
    agree, present = neighbour_agreement(R, t, 2, 10.0, 20.0)
    assert agree[3:9].tolist() == [3, 2, 1, 1, 2, 3]
    # 2 of 4 is no strict majority: frames 4 and 7 go with the pair
    keep = consistent_in_sequence(R, t, 2, 10.0, 20.0, 'majority')
    assert np.flatnonzero(~keep).tolist() == [4, 5, 6, 7]


def test_thresholds_are_inclusive_and_the_window_is_respected():
    # no rotation, 10 mm per frame: neighbours 2 apart are exactly 20 mm
    R, t = smooth(6, deg_step=0.0, mm_step=10.0)
    for window, max_mm in ((2, 20.0), (1, 10.0), (1, 15.0)):
        keep = consistent_in_sequence(R, t, window, 10.0, max_mm, 'all')
        assert keep.all(), (window, max_mm)
    # below 20 mm only the next frames agree: 1 of 2 at the ends, 2 of 3
    # next to them, 2 of 4 inside
    agree, present = neighbour_agreement(R, t, 2, 10.0, 19.999)
    assert agree.tolist() == [1, 2, 2, 2, 2, 1]
    keep = consistent_in_sequence(R, t, 2, 10.0, 19.999, 'majority')
    assert keep.tolist() == [False, True, False, False, True, False]
    # rotation: 3 deg per frame against thresholds 2.99 and 3.01
    R, t = smooth(5, deg_step=3.0, mm_step=0.0)
    assert consistent_in_sequence(R, t, 1, 3.01, 1.0).all()
    assert not consistent_in_sequence(R, t, 1, 2.99, 1.0).any()


def test_sequence_ends_and_short_sequences():
    R, t = smooth(2)
    assert consistent_in_sequence(R, t).tolist() == [True, True]
    t[1, 0] += 150.0  # past the default 100 mm
    assert consistent_in_sequence(R, t).tolist() == [False, False]
    R, t = smooth(1)
    assert consistent_in_sequence(R, t).tolist() == [False]  # no neighbour
    assert consistent_in_sequence(R[:0], t[:0]).tolist() == []
    # a non-finite pose agrees with nothing
    R, t = smooth(5)
    R[2] = np.nan
    agree, present = neighbour_agreement(R, t, 2, 10.0, 20.0)
    assert agree.tolist() == [1, 2, 0, 2, 1]
    with pytest.raises(ValueError, match='agreement'):
        consistent_in_sequence(R, t, agreement='most')
    with pytest.raises(ValueError, match='window'):
        consistent_in_sequence(R, t, window=0)


def brute_force(R, t, window, max_deg, max_mm, agreement):
    """The rule written out, with scipy's rotation angle."""
    keep = []
    for i in range(len(R)):
        votes = []
        for j in range(max(0, i - window), min(len(R), i + window + 1)):
            if j == i:
                continue
            deg = np.degrees(Rotation.from_matrix(R[i].T @ R[j]).magnitude())
            votes.append(deg <= max_deg
                         and np.linalg.norm(t[i] - t[j]) <= max_mm)
        if agreement == 'all':
            keep.append(bool(votes) and all(votes))
        else:
            keep.append(sum(votes) > len(votes) / 2)
    return np.array(keep)


def test_filter_matches_a_brute_force_loop():
    rng = np.random.default_rng(0)
    n = 40
    steps = Rotation.from_rotvec(rng.normal(0, np.radians(2), (n, 3)))
    R = np.empty((n, 3, 3))
    R[0] = np.eye(3)
    for i in range(1, n):
        R[i] = steps[i].as_matrix() @ R[i - 1]
    t = np.cumsum(rng.normal(0, 4, (n, 3)), axis=0) + [0, 0, 800]
    bad = rng.choice(n, 6, replace=False)
    R[bad] = Rotation.random(6, random_state=1).as_matrix()
    for window in (1, 2, 3):
        for agreement in ('majority', 'all'):
            expected = brute_force(R, t, window, 10.0, 20.0, agreement)
            got = consistent_in_sequence(R, t, window, 10.0, 20.0,
                                         agreement)
            np.testing.assert_array_equal(got, expected)
            assert 0 < expected.sum() < n - 6  # not a trivial case


def test_consistent_frames_groups_sequences_in_any_order():
    Ra, ta = two_outliers()
    Rb, tb = smooth(5, mm_step=30.0)  # too far apart: none kept
    im_a = np.arange(12) * 3 + 7  # gaps in im_id: positions count
    keys = [(1, 4, i) for i in im_a] + [(2, 9, i) for i in range(5)]
    R = np.concatenate([Ra, Rb])
    t = np.concatenate([ta, tb])
    order = np.random.default_rng(0).permutation(len(keys))
    k = np.array(keys)[order]
    keep = consistent_frames(k[:, 0], k[:, 1], k[:, 2], R[order], t[order],
                             window=2, max_rot_deg=10.0, max_trans_mm=20.0)
    expected = np.concatenate([
        consistent_in_sequence(Ra, ta), np.zeros(5, dtype=bool)])
    np.testing.assert_array_equal(keep, expected[order])
    assert (~expected).sum() == 2 + 5
    with pytest.raises(ValueError, match='obj_id 1 scene_id 4 im_id 7'):
        consistent_frames([1, 1], [4, 4], [7, 7], R[:2], t[:2])


# -- the dataset option ----------------------------------------------------
def _bop(root, **kw):
    kw.setdefault('serialize_data', False)
    return DATASETS.build(dict(type='LinemodBOPDataset', data_root=str(root),
                               split='train', **kw))


def _infos(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


def _key(info):
    return (info['obj_id'], info['scene_id'], info['im_id'])


def pseudo_pose(info):
    """A pose no frame has: the true one turned 30 deg, 7 mm off."""
    turn = Rotation.from_euler('y', 30, degrees=True).as_matrix()
    return turn @ info['gt_R'], info['gt_t'] + [7.0, 0.0, 0.0]


def entries_for(infos, pseudo_ids):
    """Label entries of every labelled frame, pseudo entries for the
    unlabelled frames ``(obj_id, im_id)`` in ``pseudo_ids``."""
    out = []
    for info in infos:
        obj_id, scene_id, im_id = _key(info)
        if info['has_pose']:
            R, t, source = info['gt_R'], info['gt_t'], 'label'
        elif (obj_id, im_id) in pseudo_ids:
            (R, t), source = pseudo_pose(info), 'pseudo'
        else:
            continue
        out.append(dict(obj_id=obj_id, scene_id=scene_id, im_id=im_id, R=R,
                        t=t, source=source))
    return out


PSEUDO = {(1, 0), (1, 3), (1, 23), (2, 11)}


@pytest.fixture
def pseudo_file(bop_root, tmp_path):
    infos = _infos(_bop(bop_root, label_fraction=0.25))
    path = tmp_path / 'pseudo.json'
    write_pseudo_labels(str(path), dict(note='test'),
                        entries_for(infos, PSEUDO))
    return path


def test_pseudo_labels_label_the_listed_frames(bop_root, pseudo_file):
    plain = {_key(i): i for i in _infos(_bop(bop_root,
                                             label_fraction=0.25))}
    ds = _bop(bop_root, label_fraction=0.25, pseudo_labels=str(pseudo_file))
    infos = _infos(ds)
    assert len(infos) == 2 * NUM_FRAMES
    for info in infos:
        before = plain[_key(info)]
        if (info['obj_id'], info['im_id']) in PSEUDO:
            R, t = pseudo_pose(before)
            np.testing.assert_allclose(info['gt_R'], R, atol=1e-15)
            np.testing.assert_allclose(info['gt_t'], t, atol=1e-12)
            assert info['has_pose'] is True and info['pseudo_label'] is True
        else:  # labelled and unlabelled frames unchanged
            np.testing.assert_array_equal(info['gt_R'], before['gt_R'])
            np.testing.assert_array_equal(info['gt_t'], before['gt_t'])
            assert info['has_pose'] == before['has_pose']
            assert info['pseudo_label'] is False
    only = _bop(bop_root, label_fraction=0.25, labelled_only=True,
                pseudo_labels=str(pseudo_file))
    kept = [(i['obj_id'], i['im_id']) for i in _infos(only)]
    expected = {(o, p) for o in (1, 2) for p in LABELLED} | PSEUDO
    assert kept == sorted(expected)
    assert sum(i['pseudo_label'] for i in _infos(only)) == len(PSEUDO)


def test_a_hand_written_file(bop_root, tmp_path):
    ds = _bop(bop_root, obj_ids=[2], label_fraction=1 / 24)  # position 12
    (labelled, ) = [i for i in _infos(ds) if i['has_pose']]
    assert labelled['im_id'] == 12
    path = tmp_path / 'hand.json'
    path.write_text(json.dumps({
        'header': {'format': 'posessl-pseudo-labels', 'version': 1},
        'labels': [
            {'obj_id': 2, 'scene_id': 2, 'im_id': 5,
             'R': [0, -1, 0, 1, 0, 0, 0, 0, 1], 't': [1, 2, 700],
             'source': 'pseudo'},
            {'obj_id': 2, 'scene_id': 2, 'im_id': 12,
             'R': labelled['gt_R'].reshape(-1).tolist(),
             't': labelled['gt_t'].tolist(), 'source': 'label'},
        ]}))
    ds = _bop(bop_root, obj_ids=[2], label_fraction=1 / 24,
              labelled_only=True, pseudo_labels=str(path))
    assert [i['im_id'] for i in _infos(ds)] == [5, 12]
    info = ds.get_data_info(0)
    np.testing.assert_array_equal(info['gt_R'],
                                  [[0, -1, 0], [1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(info['gt_t'], [1, 2, 700])
    assert info['gt_R'].dtype == np.float64


def test_densefusion_loader_reads_them_too(df_root, tmp_path):
    ds = DATASETS.build(dict(type='LinemodDenseFusionDataset',
                             data_root=str(df_root), split='train',
                             label_fraction=0.5, serialize_data=False))
    infos = _infos(ds)
    unlabelled = [(i['obj_id'], i['im_id']) for i in infos
                  if not i['has_pose']]
    path = tmp_path / 'df.json'
    write_pseudo_labels(str(path), {}, entries_for(infos, unlabelled[:2]))
    only = DATASETS.build(dict(type='LinemodDenseFusionDataset',
                               data_root=str(df_root), split='train',
                               label_fraction=0.5, labelled_only=True,
                               pseudo_labels=str(path),
                               serialize_data=False))
    total = len(TRAIN_IDS[1]) + len(TRAIN_IDS[2])
    assert len(only) == sum(i['has_pose'] for i in infos) + 2 < total
    assert [(i['obj_id'], i['im_id']) for i in _infos(only)
            if i['pseudo_label']] == unlabelled[:2]


def _entry(data, obj_id, im_id):
    return next(e for e in data['labels']
                if (e['obj_id'], e['im_id']) == (obj_id, im_id))


def _move_label(data):
    _entry(data, 1, 6)['t'][0] += 1.0


def _outside_split(data):
    _entry(data, 1, 3)['im_id'] = 99


def _pseudo_on_labelled(data):
    _entry(data, 1, 10)['source'] = 'pseudo'


def _drop_label(data):
    data['labels'].remove(_entry(data, 2, 22))


def test_files_that_do_not_fit_the_split_are_refused(bop_root, pseudo_file):
    def refused(match, fraction=0.25, **kw):
        with pytest.raises(DataError, match=match) as err:
            _bop(bop_root, label_fraction=fraction,
                 pseudo_labels=str(pseudo_file), **kw)
        assert str(err.value).startswith(f'{pseudo_file}: ')
        assert '\n' not in str(err.value)

    # made with another label fraction: the first bad entry in file order
    refused('obj_id 1 scene_id 1 im_id 2 is a "label" entry but the data '
            'set does not label it', fraction=0.5)  # labels 1, 3, 5, ...
    refused('obj_id 1 scene_id 1 im_id 0 has a pseudo-label but the data '
            'set labels it', fraction=1.0)
    # an object the data set does not load
    refused('obj_id 2 scene_id 2 im_id 2 is not a frame', obj_ids=[1])
    original = pseudo_file.read_text()
    edits = [
        (_move_label, 'obj_id 1 scene_id 1 im_id 6 is a "label" entry whose '
         'pose differs'),
        (_outside_split, 'obj_id 1 scene_id 1 im_id 99 is not a frame'),
        (_pseudo_on_labelled, 'obj_id 1 scene_id 1 im_id 10 has a '
         'pseudo-label but the data set labels it'),
        (_drop_label, 'has no "label" entry for obj_id 2 scene_id 2 im_id '
         '22, which the data set labels'),
    ]
    for edit, match in edits:
        data = json.loads(original)
        edit(data)
        pseudo_file.write_text(json.dumps(data))
        refused(match)


def test_malformed_files_are_refused(bop_root, pseudo_file, tmp_path):
    original = json.loads(pseudo_file.read_text())
    first = original['labels'][0]
    where = 'obj_id 1 scene_id 1 im_id 0'
    cases = [
        ('not valid JSON', '{"header": '),
        ('not a pseudo-label file', json.dumps({'labels': []})),
        ('not a pseudo-label file', json.dumps([first])),
        ('version 2', json.dumps(dict(original, header=dict(
            original['header'], version=2)))),
        ('"labels" must be a list', json.dumps(dict(original, labels={}))),
        (r'labels\[0\] has no source', json.dumps(dict(original, labels=[
            {k: v for k, v in first.items() if k != 'source'}]))),
        (r'labels\[0\]: obj_id, scene_id and im_id must be integers',
         json.dumps(dict(original, labels=[dict(first, im_id='0')]))),
        (f'{where}: source must be', json.dumps(dict(original, labels=[
            dict(first, source='teacher')]))),
        (f'{where}: R must be 9 numbers and t 3', json.dumps(dict(
            original, labels=[dict(first, R=first['R'][:8])]))),
        (f'{where}: R is not a rotation', json.dumps(dict(
            original, labels=[dict(first, R=[2.0] + first['R'][1:])]))),
        (f'{where}: the pose has non-finite values', json.dumps(dict(
            original, labels=[dict(first, t=[0, 0, float('inf')])]))),
        (f'{where} is listed twice', json.dumps(dict(
            original, labels=[first, first]))),
    ]
    for match, text in cases:
        path = tmp_path / 'bad.json'
        path.write_text(text)
        with pytest.raises(DataError, match=match) as err:
            _bop(bop_root, label_fraction=0.25, pseudo_labels=str(path))
        assert str(err.value).startswith(f'{path}: '), match
    missing = tmp_path / 'nowhere.json'
    with pytest.raises(FileNotFoundError,
                       match=f'{missing}: pseudo-label file not found'):
        _bop(bop_root, pseudo_labels=str(missing))
    # the reader alone gives the file's frames in order
    labels = read_pseudo_labels(str(pseudo_file))
    assert list(labels)[:3] == [(1, 1, 0), (1, 1, 2), (1, 1, 3)]
