"""tools/pseudo_label.py end to end on the hand-made set with an untrained
checkpoint: the file holds the data set's labels and exactly the teacher
poses a brute-force filter keeps, the printed counts are the file's, the
printed accuracies are recomputed by hand, and a student data set loads
the file."""
import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from scipy.spatial.transform import Rotation

from posessl.apis import build_inference_model
from posessl.registry import DATASETS, MODELS
from tests.test_datasets import builders
from tests.test_engine._cli import load_tool as load_cli_tool

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / 'configs' / 'pose' / (
    'pose_r18-scratch_1xb32-600it_synthetic-10pct.py')
FRAMES = 16
FRACTION = 0.25  # labelled positions 2, 6, 10, 14 of 16


def load_tool():
    return load_cli_tool('tools/pseudo_label.py')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """A hand-made BOP set (object 2 symmetric), a 32 px config on it and
    an untrained checkpoint whose poses differ from frame to frame."""
    out = tmp_path_factory.mktemp('pseudo_tool')
    root = builders.write_bop(out / 'data',
                              builders.make_frames([1, 2], FRAMES),
                              symmetric=[2])
    cfg = Config.fromfile(str(BASE))
    pipelines = {}
    for name in ('train', 'test'):
        pipeline = copy.deepcopy(
            cfg[f'{name}_dataloader'].dataset.pipeline)
        for t in pipeline:
            if t['type'] == 'MaskCenteredCrop':
                t['out_size'] = 32
        pipelines[name] = pipeline
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': str(root),
        'train_dataloader.dataset.label_fraction': FRACTION,
        'train_dataloader.dataset.pipeline': pipelines['train'],
        'test_dataloader.dataset.data_root': str(root),
        'test_dataloader.dataset.pipeline': pipelines['test'],
        'test_dataloader.batch_size': 8,
        'model.objects.models_dir': str(root / 'models'),
    })
    config = out / 'tiny_pose.py'
    cfg.dump(str(config))
    with DefaultScope.overwrite_default_scope('posessl'):
        torch.manual_seed(0)
        model = MODELS.build(cfg.model.to_dict())
    with torch.no_grad():
        model.head.rot_out.weight.mul_(30.0)
        model.head.site_out.weight.mul_(3.0)
    checkpoint = out / 'teacher.pth'
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    return dict(root=root, cfg=cfg, config=str(config),
                checkpoint=str(checkpoint), out=out)


def teacher_poses(setup):
    """Every training frame and the teacher's pose of it, computed here
    directly: ``[(info, R, t)]`` in data-set order."""
    cfg = setup['cfg']
    with DefaultScope.overwrite_default_scope('posessl'):
        dataset = DATASETS.build(dict(
            cfg.train_dataloader.dataset.to_dict(), labelled_only=False,
            test_mode=True, pipeline=cfg.test_dataloader.dataset.pipeline))
    model = build_inference_model(cfg, setup['checkpoint'])
    with torch.no_grad():
        samples = model.test_step(pseudo_collate(
            [dataset[i] for i in range(len(dataset))]))
    return dataset, [(dataset.get_data_info(i), s.pred_R.double().numpy(),
                      s.pred_t.double().numpy())
                     for i, s in enumerate(samples)]


def brute_kept(poses, window, max_deg, max_mm):
    """Majority rule as a loop over each sequence (scipy's angles)."""
    kept = set()
    for i, (info, R, t) in enumerate(poses):
        votes = []
        for j, (other, R2, t2) in enumerate(poses):
            same = other['obj_id'] == info['obj_id']
            if same and 0 < abs(i - j) <= window:  # one scene per object
                deg = np.degrees(Rotation.from_matrix(R.T @ R2).magnitude())
                votes.append(deg <= max_deg
                             and np.linalg.norm(t - t2) <= max_mm)
        if sum(votes) > len(votes) / 2:
            kept.add((info['obj_id'], info['im_id']))
    return kept


def add_share_and_median(rows, points, diameter, symmetric):
    """% within 0.1 d ADD (ADD-S) and the median rotation error, by hand."""
    errors, angles = [], []
    for info, R, t in rows:
        est = points @ R.T + t
        gt = points @ info['gt_R'].T + info['gt_t']
        if symmetric:
            d = np.linalg.norm(gt[:, None] - est[None], axis=-1).min(1)
        else:
            d = np.linalg.norm(gt - est, axis=-1)
        errors.append(d.mean())
        angles.append(np.degrees(Rotation.from_matrix(
            R @ info['gt_R'].T).magnitude()))
    return 100.0 * np.mean(np.array(errors) < 0.1 * diameter), np.median(
        angles)


ACC = (r'(?P<{0}_share>[\d.]+) % within 0.1 d (?P<{0}_metric>ADD|ADD-S), '
       r'median rotation error (?P<{0}_median>[\d.]+) deg')
LINE = re.compile(
    r'obj (?P<obj>\d+) \(\w+\): (?P<frames>\d+) frames, (?P<label>\d+) '
    r'labelled, (?P<pseudo>\d+) of (?P<unlabelled>\d+) unlabelled kept '
    r'\([\d.]+ %\); teacher on the labelled: ' + ACC.format('label')
    + '; kept: ' + ACC.format('kept') + '; rejected: '
    + ACC.format('rejected'))


def test_tool_writes_the_kept_teacher_poses(setup, capsys):
    dataset, poses = teacher_poses(setup)
    # a threshold that splits the frames: the median neighbour angle
    steps = [np.degrees(Rotation.from_matrix(a[1].T @ b[1]).magnitude())
             for a, b in zip(poses[:-1], poses[1:])
             if a[0]['obj_id'] == b[0]['obj_id']]
    max_deg = float(np.median(steps))
    out = setup['out'] / 'pseudo.json'
    load_tool().main([setup['config'], setup['checkpoint'], '--out',
                      str(out), '--max-rot-deg', str(max_deg),
                      '--max-trans-mm', '1e6', '--device', 'cpu'])
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    kept = brute_kept(poses, 2, max_deg, 1e6)
    labelled = {(i['obj_id'], i['im_id']) for i, _, _ in poses
                if i['has_pose']}
    assert labelled == {(o, p) for o in (1, 2) for p in (2, 6, 10, 14)}
    expected_pseudo = kept - labelled
    assert 0 < len(expected_pseudo) < 2 * FRAMES - len(labelled)

    by_key = {(i['obj_id'], i['im_id']): (i, R, t) for i, R, t in poses}
    entries = data['labels']
    assert [(e['obj_id'], e['im_id']) for e in entries] == sorted(
        labelled | expected_pseudo)
    for e in entries:
        info, R, t = by_key[(e['obj_id'], e['im_id'])]
        assert e['scene_id'] == info['scene_id']
        if e['source'] == 'label':
            assert (e['obj_id'], e['im_id']) in labelled
            assert e['R'] == info['gt_R'].reshape(-1).tolist()
            assert e['t'] == info['gt_t'].tolist()
        else:
            assert e['source'] == 'pseudo'
            np.testing.assert_allclose(e['R'], R.reshape(-1), atol=1e-5)
            np.testing.assert_allclose(e['t'], t, atol=1e-3)
    header = data['header']
    assert header['format'] == 'posessl-pseudo-labels'
    assert header['filter'] == dict(window=2, max_rot_deg=max_deg,
                                    max_trans_mm=1e6, agreement='majority')
    assert header['teacher_checkpoint'] == setup['checkpoint']

    # printed counts are the file's, accuracies recomputed by hand
    lines = {int(m['obj']): m for m in LINE.finditer(printed)}
    assert sorted(lines) == [1, 2]
    meta = dataset.metainfo
    for obj_id, m in lines.items():
        mine = [e for e in entries if e['obj_id'] == obj_id]
        n_label = sum(e['source'] == 'label' for e in mine)
        n_pseudo = sum(e['source'] == 'pseudo' for e in mine)
        assert (int(m['frames']), int(m['label']), int(m['pseudo']),
                int(m['unlabelled'])) == (FRAMES, n_label, n_pseudo,
                                          FRAMES - n_label)
        counts = header['counts']['per_object'][str(obj_id)]
        assert (counts['label'], counts['pseudo'], counts['rejected']) == (
            n_label, n_pseudo, FRAMES - n_label - n_pseudo)
        pseudo = {e['im_id'] for e in mine if e['source'] == 'pseudo'}
        groups = dict(
            label=[p for p in poses if p[0]['obj_id'] == obj_id
                   and p[0]['has_pose']],
            kept=[p for p in poses if p[0]['obj_id'] == obj_id
                  and p[0]['im_id'] in pseudo],
            rejected=[p for p in poses if p[0]['obj_id'] == obj_id
                      and not p[0]['has_pose']
                      and p[0]['im_id'] not in pseudo])
        for name, rows in groups.items():
            assert m[f'{name}_metric'] == ('ADD-S' if obj_id == 2 else
                                           'ADD')
            share, median = add_share_and_median(
                rows, meta['model_points'][obj_id].astype(np.float64),
                meta['diameters'][obj_id], obj_id == 2)
            assert float(m[f'{name}_share']) == pytest.approx(share,
                                                              abs=0.05)
            assert float(m[f'{name}_median']) == pytest.approx(median,
                                                               abs=0.005)
    assert f"{len(labelled)} labels and {len(expected_pseudo)} " \
        'pseudo-labels of 32 training frames' in printed

    # the file trains: labelled_only keeps the labelled and pseudo frames
    with DefaultScope.overwrite_default_scope('posessl'):
        student = DATASETS.build(dict(
            setup['cfg'].train_dataloader.dataset.to_dict(),
            pseudo_labels=str(out)))
    infos = [student.get_data_info(i) for i in range(len(student))]
    assert {(i['obj_id'], i['im_id']) for i in infos} == \
        labelled | expected_pseudo
    assert {(i['obj_id'], i['im_id']) for i in infos
            if i['pseudo_label']} == expected_pseudo
    assert student[0]['data_samples'].has_pose


def test_bad_input_is_one_line(setup, tmp_path):
    tool = load_tool()
    cases = [
        (['--out', 'x.txt'], "--out 'x.txt': give a .json file name"),
        (['--out', 'x.json', '--window', '-1'],
         '--window must be at least 0, got -1'),
        (['--out', 'x.json', '--min-mask-iou', '1.5'],
         '--min-mask-iou must be in [0, 1], got 1.5'),
        (['--out', 'x.json', '--max-trans-mm', '-1'],
         '--max-trans-mm must be non-negative, got -1.0'),
    ]
    for extra, message in cases:
        with pytest.raises(SystemExit) as err:
            tool.main([setup['config'], setup['checkpoint']] + extra)
        assert str(err.value) == f'error: {message}'
    missing = str(tmp_path / 'none.pth')
    with pytest.raises(SystemExit) as err:
        tool.main([setup['config'], missing, '--out', 'x.json'])
    assert str(err.value) == f"error: checkpoint {missing!r} does not exist."


def test_summary_accuracy_by_hand():
    """Four poses of a 100 mm object: ADD 5, 9.9, 10 and 13.9 mm (correct
    below 10 mm, strictly) with rotation errors 0, 0, 0 and 20 deg."""
    from posessl.structures import ObjectTable
    points = np.array([[50.0, 0, 0], [-50.0, 0, 0], [0, 20.0, 0]])
    objects = ObjectTable.from_metainfo(dict(
        obj_ids=(3, ), classes=('rod', ), model_points={3: points},
        diameters={3: 100.0}, symmetric_obj_ids=()))
    gt = dict(gt_R=np.eye(3), gt_t=np.array([0.0, 0.0, 500.0]),
              cam_K=builders.K)
    # a 20 deg turn about z moves the points 2 r sin(10 deg): 17.4, 17.4
    # and 6.9 mm, a mean of 13.9 mm
    turn = Rotation.from_euler('z', 20, degrees=True).as_matrix()
    frames = [dict(info=gt, pred_R=np.eye(3), pred_t=gt['gt_t'] + [d, 0, 0])
              for d in (5.0, 9.9, 10.0)]
    frames.append(dict(info=gt, pred_R=turn, pred_t=gt['gt_t']))
    acc = load_tool().accuracy(frames, objects, 3)
    assert acc['n'] == 4
    assert acc['add_acc'] == pytest.approx(50.0)
    assert acc['median_rot_deg'] == pytest.approx(0.0, abs=1e-4)
    acc = load_tool().accuracy(frames[2:], objects, 3)
    assert acc['add_acc'] == 0.0
    assert acc['median_rot_deg'] == pytest.approx(10.0, abs=1e-4)
    assert load_tool().accuracy([], objects, 3) is None


def test_window_zero_keeps_every_frame(setup, tmp_path, capsys):
    out = tmp_path / 'all.json'
    load_tool().main([setup['config'], setup['checkpoint'], '--out',
                      str(out), '--window', '0'])
    entries = json.loads(out.read_text())['labels']
    assert sum(e['source'] == 'pseudo' for e in entries) == 2 * (FRAMES - 4)
    assert sum(e['source'] == 'label' for e in entries) == 2 * 4


def test_mask_agreement_keeps_poses_whose_silhouette_covers_the_mask(
        setup):
    tool = load_tool()
    dataset, poses = teacher_poses(setup)
    frames = []
    for k, (info, _, _) in enumerate(poses[:6]):
        R, t = info['gt_R'], info['gt_t'].copy()
        if k % 3 == 1:  # sideways by twice the box's size: no overlap
            t = t + np.array([200.0, 0.0, 0.0])
        elif k % 3 == 2:  # 30 % farther: a silhouette of 0.59 the area
            t = t * 1.3
        frames.append(dict(info=dict(info, has_pose=False), pred_R=R,
                           pred_t=t))
    models = str(setup['root'] / 'models')
    # the hand-made masks are filled hulls with their boundary pixels, so
    # the true pose's silhouette covers them with IoU 0.87-0.90 (these
    # 230-370 px masks), the farther one with 0.51-0.54
    kept = tool.mask_agreement(frames, models, 0.8)
    assert kept.tolist() == [True, False, False] * 2
    assert tool.mask_agreement(frames, models, 0.4).tolist() == [
        True, False, True] * 2
    # labelled frames are not predictions: they pass
    frames[1]['info']['has_pose'] = True
    assert tool.mask_agreement(frames, models, 0.8).tolist()[:2] == [
        True, True]
