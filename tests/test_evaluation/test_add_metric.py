"""ADDMetric: in a Runner test loop, standalone from a BOP models folder, and
against the pure functions on the same predictions."""
import json
import shutil

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from scipy.spatial.transform import Rotation
from torch.utils.data import Dataset

from posessl.evaluation import functional as PF
from posessl.evaluation import read_bop_csv
from posessl.registry import METRICS
from posessl.structures import PoseDataSample
from tests.cameras import LINEMOD_K

CAM_K = LINEMOD_K
OBJ_IDS = (1, 10)  # ape (ADD) and eggbox (ADD-S)
DIAMETERS = {1: 102.099, 10: 120.0}
NUM_FRAMES = 12


def make_points():
    rng = np.random.default_rng(0)
    return {1: (rng.normal(size=(150, 3)) * [30, 30, 40]).astype(np.float32),
            10: (rng.normal(size=(150, 3)) * [50, 40, 30]).astype(np.float32)}


def make_poses():
    """GT and predictions for every frame; frame 5 predicts NaN, frame 8 a
    reflection (invalid)."""
    rng = np.random.default_rng(1)
    gt_R = Rotation.random(NUM_FRAMES, random_state=2).as_matrix()
    gt_t = rng.normal(size=(NUM_FRAMES, 3)) * 50 + [0, 0, 1000]
    angles = np.linspace(0.5, 20, NUM_FRAMES)  # degrees
    axes = rng.normal(size=(NUM_FRAMES, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    delta = Rotation.from_rotvec(axes * np.radians(angles)[:, None])
    pred_R = (Rotation.from_matrix(gt_R) * delta).as_matrix()
    pred_t = gt_t + rng.normal(size=(NUM_FRAMES, 3)) * np.linspace(
        1, 30, NUM_FRAMES)[:, None]
    pred_R[5, 0, 0] = np.nan
    pred_R[8] = -pred_R[8]
    return gt_R, gt_t, pred_R.astype(np.float32), pred_t.astype(np.float32)


class FakePoseDataset(Dataset):
    """Frames alternating between the two objects, with LINEMOD metainfo."""

    def __init__(self) -> None:
        self.metainfo = dict(
            dataset_name='fake', obj_ids=OBJ_IDS, classes=('ape', 'eggbox'),
            diameters=DIAMETERS, symmetric_obj_ids=(10, ),
            model_points=make_points(), units='mm')
        self.gt_R, self.gt_t, _, _ = make_poses()

    def __len__(self) -> int:
        return NUM_FRAMES

    def __getitem__(self, idx: int) -> dict:
        sample = PoseDataSample(metainfo=dict(
            img_path=f'/nowhere/{idx:06d}.png', obj_id=OBJ_IDS[idx % 2],
            scene_id=2, im_id=idx, cam_K=CAM_K, ori_shape=(480, 640)))
        sample.gt_R = torch.tensor(self.gt_R[idx], dtype=torch.float32)
        sample.gt_t = torch.tensor(self.gt_t[idx], dtype=torch.float32)
        return dict(inputs=torch.zeros(3, 4, 4, dtype=torch.uint8),
                    data_samples=sample)


class FixedPredictionModel(BaseModel):
    """Returns the fixed predictions of :func:`make_poses` by ``im_id``."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))
        _, _, self.pred_R, self.pred_t = make_poses()

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode != 'predict':
            raise NotImplementedError
        for sample in data_samples:
            sample.pred_R = torch.from_numpy(self.pred_R[sample.im_id])
            sample.pred_t = torch.from_numpy(self.pred_t[sample.im_id])
        return data_samples


def expected_numbers():
    """The metric's numbers computed directly with the pure functions."""
    gt_R, gt_t, pred_R, pred_t = make_poses()
    points = make_points()
    per_obj = {}
    for j, obj_id in enumerate(OBJ_IDS):
        idx = np.arange(j, NUM_FRAMES, 2)
        # the metric sees the float32 GT the pipeline packs
        args = (pred_R[idx], pred_t[idx], gt_R[idx].astype(np.float32),
                gt_t[idx].astype(np.float32))
        fn = PF.adds_error if obj_id == 10 else PF.add_error
        err = fn(points[obj_id], *args)
        proj = PF.proj2d_error(points[obj_id], *args, CAM_K)
        rot = PF.rotation_error(args[0], args[2])
        trans = PF.translation_error(args[1], args[3], pred_R=args[0])
        d = DIAMETERS[obj_id]
        per_obj[obj_id] = dict(
            acc=[100 * float(a) for a in PF.accuracy_at(
                err, d, (0.02, 0.05, 0.1))],
            auc=100 * PF.accuracy_auc(err, d),
            proj=100 * float(PF.accuracy_at(proj, 1.0, (5.0, ))[0]),
            cmdeg=100 * PF.cm_deg_accuracy(rot, trans),
            err=err, rot=rot, trans=trans)
    return per_obj


def score_fixed_predictions(**cfg) -> dict:
    """``ADDMetric(**cfg)`` over the fixed predictions of every frame."""
    metric = METRICS.build(dict(type='ADDMetric', **cfg))
    metric.dataset_meta = FakePoseDataset().metainfo
    ds, model = FakePoseDataset(), FixedPredictionModel()
    samples = model([], [ds[i]['data_samples'] for i in range(NUM_FRAMES)],
                    mode='predict')
    metric.process({}, [s.to_dict() for s in samples])
    return metric.compute_metrics(metric.results)


def build_runner(tmp_path, name, **evaluator):
    return Runner(
        model=FixedPredictionModel(),
        work_dir=str(tmp_path),
        experiment_name=name,
        test_dataloader=dict(
            dataset=FakePoseDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=5, num_workers=0,
            collate_fn=dict(type='pseudo_collate')),
        test_evaluator=dict(type='ADDMetric', **evaluator),
        test_cfg=dict(type='TestLoop'),
        default_scope='posessl',
        log_level='WARNING',
        env_cfg=dict(dist_cfg=dict(backend='gloo')))


def test_metric_in_runner_equals_pure_functions(tmp_path):
    csv = tmp_path / 'posessl-fake_lm-test.csv'
    metrics = build_runner(tmp_path, 'add_metric_runner',
                           csv_file=str(csv)).test()
    exp = expected_numbers()
    ape, egg = exp[1], exp[10]
    # per-object keys: ADD for ape, ADD-S for the symmetric eggbox
    for i, k in enumerate(('0.02d', '0.05d', '0.1d')):
        assert metrics[f'add/ape/ADD_{k}'] == pytest.approx(ape['acc'][i])
        assert metrics[f'add/eggbox/ADD-S_{k}'] == pytest.approx(
            egg['acc'][i])
        assert metrics[f'add/ADD(-S)_{k}'] == pytest.approx(
            (ape['acc'][i] + egg['acc'][i]) / 2)
    assert metrics['add/ADD(-S)_AUC'] == pytest.approx(
        (ape['auc'] + egg['auc']) / 2)
    assert metrics['add/Proj2D_5px'] == pytest.approx(
        (ape['proj'] + egg['proj']) / 2)
    assert metrics['add/5cm5deg'] == pytest.approx(
        (ape['cmdeg'] + egg['cmdeg']) / 2)
    # error statistics over the valid predictions only (frames 5, 8 out)
    err = torch.cat([ape['err'], egg['err']])
    rot = torch.cat([ape['rot'], egg['rot']])
    assert metrics['add/num_invalid'] == 2
    assert metrics['add/num_samples'] == NUM_FRAMES
    valid = torch.isfinite(err)
    assert int(valid.sum()) == NUM_FRAMES - 2
    assert metrics['add/ADD(-S)_mean_mm'] == pytest.approx(
        float(err[valid].mean()))
    assert metrics['add/ADD(-S)_median_mm'] == pytest.approx(
        float(np.median(err[valid].numpy())))
    assert metrics['add/rot_err_mean_deg'] == pytest.approx(
        float(rot[valid].mean()))
    # the predictions are rotations of 0.5 .. 20 degrees: check the values
    angles = np.linspace(0.5, 20, NUM_FRAMES)
    keep = [i for i in range(NUM_FRAMES) if i not in (5, 8)]
    assert metrics['add/rot_err_median_deg'] == pytest.approx(
        float(np.median(angles[keep])), abs=1e-3)
    # the CSV holds every finite prediction
    rows = read_bop_csv(str(csv))
    _, _, pred_R, pred_t = make_poses()
    assert [r['im_id'] for r in rows] == [i for i in range(NUM_FRAMES)
                                          if i != 5]
    for r in rows:
        np.testing.assert_allclose(r['R'], pred_R[r['im_id']], atol=1e-7)
        np.testing.assert_allclose(r['t'], pred_t[r['im_id']], rtol=1e-6)
        assert r['obj_id'] == OBJ_IDS[r['im_id'] % 2]


def test_table_is_logged(monkeypatch):
    from posessl.evaluation.metrics import add_metric
    logged = []
    monkeypatch.setattr(add_metric, 'print_log',
                        lambda msg, **kw: logged.append((msg, kw)))
    metric = METRICS.build(dict(type='ADDMetric'))
    metric.dataset_meta = FakePoseDataset().metainfo
    ds = FakePoseDataset()
    model = FixedPredictionModel()
    samples = model([], [ds[i]['data_samples'] for i in range(NUM_FRAMES)],
                    mode='predict')
    metric.process({}, [s.to_dict() for s in samples])
    metrics = metric.evaluate(NUM_FRAMES)
    assert logged[0][1]['logger'] == 'current'  # MMEngine's logger
    lines = logged[0][0].splitlines()
    rows = {line.split()[0]: line.split() for line in lines
            if line.startswith(('ape ', 'eggbox ', 'Mean '))}
    assert rows['ape'][1] == 'ADD' and rows['eggbox'][1] == 'ADD-S'
    # columns: 0.02d 0.05d 0.1d AUC Proj2D 5cm5deg R-med t-med N invalid
    assert float(rows['ape'][4]) == pytest.approx(
        metrics['add/ape/ADD_0.1d'], abs=0.005)
    assert float(rows['eggbox'][5]) == pytest.approx(
        metrics['add/eggbox/ADD-S_AUC'], abs=0.005)
    mean = rows['Mean']
    assert mean[1:3] == ['(2', 'obj)']
    assert float(mean[6]) == pytest.approx(metrics['add/ADD(-S)_0.1d'],
                                           abs=0.005)
    assert mean[-2:] == [str(NUM_FRAMES), '2']


def test_symmetric_ids_are_configurable():
    exp = expected_numbers()
    metrics = score_fixed_predictions(symmetric_obj_ids=[])
    # eggbox is now scored with plain ADD, which is never below ADD-S
    assert 'eggbox/ADD_0.1d' in metrics
    assert metrics['eggbox/ADD_AUC'] <= exp[10]['auc'] + 1e-9


def test_score_is_compute_metrics_without_logging(capsys):
    """``score`` gives compute_metrics' numbers and the table it would log,
    and prints nothing (the benchmark's baseline writes it to its log)."""
    metric = METRICS.build(dict(type='ADDMetric'))
    metric.dataset_meta = FakePoseDataset().metainfo
    ds, model = FakePoseDataset(), FixedPredictionModel()
    samples = model([], [ds[i]['data_samples'] for i in range(NUM_FRAMES)],
                    mode='predict')
    metric.process({}, [s.to_dict() for s in samples])
    capsys.readouterr()
    metrics, table = metric.score(metric.results)
    assert capsys.readouterr().out == ''
    assert metrics == score_fixed_predictions()
    assert f"{metrics['ADD(-S)_0.1d']:.2f}" in table
    with pytest.raises(ValueError, match='no predictions'):
        metric.score([])


def test_thirteen_object_mean_leaves_out_bowl_and_cup():
    rng = np.random.default_rng(0)
    ids = tuple(range(1, 16))
    pts = {i: rng.normal(size=(20, 3)) * 30 for i in ids}
    metric = METRICS.build(dict(type='ADDMetric'))
    metric.dataset_meta = dict(obj_ids=ids, classes=[str(i) for i in ids],
                               model_points=pts,
                               diameters={i: 100.0 for i in ids},
                               symmetric_obj_ids=(10, 11))
    results = []
    for i in ids:
        off = 50.0 if i in (3, 7) else 1.0  # bowl and cup badly wrong
        results.append(dict(obj_id=i, scene_id=i, im_id=0, score=1.0,
                            pred_R=np.eye(3), pred_t=np.array([off, 0, 900]),
                            gt_R=np.eye(3), gt_t=np.array([0.0, 0, 900]),
                            cam_K=CAM_K))
    metrics = metric.compute_metrics(results)
    assert metrics['ADD(-S)_0.1d'] == 100.0
    assert metrics['3/ADD_0.1d'] == 0.0
    metric.mean_exclude_obj_ids = ()
    assert metric.compute_metrics(results)['ADD(-S)_0.1d'] == \
        pytest.approx(100 * 13 / 15)


def test_standalone_from_bop_models_folder(lmo_sample_root):
    """Real LINEMOD-Occluded GT for ape and duck, predictions offset by a
    known translation: ADD equals the offset."""
    gt = json.loads((lmo_sample_root / 'test' / '000002' /
                     'scene_gt.json').read_text())
    cams = json.loads((lmo_sample_root / 'test' / '000002' /
                       'scene_camera.json').read_text())
    metric = METRICS.build(dict(type='ADDMetric',
                                models_dir=str(lmo_sample_root / 'models')))
    offsets = {1: np.array([3.0, 4.0, 0.0]), 9: np.array([0.0, 0.0, 12.0])}
    samples = []
    for im, anns in gt.items():
        for ann in anns:
            if ann['obj_id'] not in offsets:
                continue
            R = np.array(ann['cam_R_m2c']).reshape(3, 3)
            t = np.array(ann['cam_t_m2c'])
            samples.append(dict(
                obj_id=ann['obj_id'], scene_id=2, im_id=int(im),
                cam_K=np.array(cams[im]['cam_K']).reshape(3, 3),
                gt_R=R, gt_t=t, pred_R=R,
                pred_t=t + offsets[ann['obj_id']]))
    metric.process({}, samples)
    metrics = metric.compute_metrics(metric.results)
    table = metric.objects
    assert (table.diameter(1), table.diameter(9)) == (102.099, 108.999)
    assert len(table.object_points(1)) == len(table.object_points(9)) == 3000
    assert metrics['ADD(-S)_mean_mm'] == pytest.approx(
        np.mean([5.0 if s['obj_id'] == 1 else 12.0 for s in samples]))
    # ape: 5 mm < 0.1 d = 10.2 mm but > 0.02 d; duck: 12 mm > 10.9 mm
    assert metrics['ape/ADD_0.1d'] == 100.0
    assert metrics['ape/ADD_0.02d'] == 0.0
    assert metrics['duck/ADD_0.1d'] == 0.0
    assert metrics['num_samples'] == len(samples) >= 38


def _flipped_samples(models_dir, obj_ids=(1, 2)) -> list:
    """One exact prediction per object, each turned by 180 degrees about
    the model's z axis (the synthetic crate's declared symmetry)."""
    turn = np.diag([-1.0, -1.0, 1.0])
    R = Rotation.from_rotvec([0.3, -0.2, 0.1]).as_matrix()
    t = np.array([10.0, -20.0, 800.0])
    return [dict(obj_id=i, scene_id=1, im_id=k, cam_K=CAM_K, gt_R=R,
                 gt_t=t, pred_R=R @ turn, pred_t=t)
            for k, i in enumerate(obj_ids)]


def test_standalone_models_dir_reads_symmetries_and_names(synthetic_root,
                                                          tmp_path):
    """ADDMetric(models_dir=...) alone: the crate (2) declares a 180-degree
    symmetry in models_info.json, so its flipped pose scores ADD-S 100 %
    (the asymmetric gadget's scores ADD 0 %), and the names come from the
    dataset_info.json next to the folder, not LINEMOD's table."""
    models = synthetic_root / 'models'
    metric = METRICS.build(dict(type='ADDMetric', models_dir=str(models)))
    metric.process({}, _flipped_samples(models))
    metrics = metric.compute_metrics(metric.results)
    assert metrics['crate02/ADD-S_0.1d'] == 100.0
    assert metrics['gadget01/ADD_0.1d'] == 0.0
    # without dataset_info.json the symmetry still comes from models_info
    shutil.copytree(models, tmp_path / 'models')
    alone = METRICS.build(dict(type='ADDMetric',
                               models_dir=str(tmp_path / 'models')))
    alone.process({}, _flipped_samples(models))
    table = alone.objects
    assert table.symmetric_obj_ids == (2, )
    assert alone.compute_metrics(alone.results)['benchvise/ADD-S_0.1d'] \
        == 100.0


def test_all_invalid_predictions_give_infinite_errors(synthetic_root):
    metric = METRICS.build(dict(type='ADDMetric',
                                models_dir=str(synthetic_root / 'models')))
    samples = _flipped_samples(synthetic_root / 'models')
    for s in samples:
        s['pred_R'] = np.full((3, 3), np.nan)
    metric.process({}, samples)
    metrics = metric.compute_metrics(metric.results)
    assert metrics['num_invalid'] == 2
    for key in ('ADD(-S)_mean_mm', 'ADD(-S)_median_mm', 'rot_err_mean_deg',
                'trans_err_median_mm'):
        assert metrics[key] == float('inf'), key


def test_clear_errors():
    metric = METRICS.build(dict(type='ADDMetric'))
    with pytest.raises(KeyError, match="no 'pred_R'"):
        metric.process({}, [dict(obj_id=1, img_path='/a.png',
                                 gt_R=np.eye(3))])
    metric.process({}, [dict(obj_id=4, img_path='/a.png', pred_R=np.eye(3),
                             pred_t=np.zeros(3), gt_R=np.eye(3),
                             gt_t=np.ones(3), cam_K=CAM_K)])
    with pytest.raises(ValueError, match="needs the objects: the dataset "
                       "metainfo .* must hold 'models_dir' or"):
        metric.compute_metrics(metric.results)
    metric.dataset_meta = FakePoseDataset().metainfo
    with pytest.raises(ValueError, match='no model points .* object 4'):
        metric.compute_metrics(metric.results)
    with pytest.raises(ValueError, match='thresholds'):
        METRICS.build(dict(type='ADDMetric', thresholds=[0.1, -1]))


def _split_samples() -> list:
    """Four ape frames, each wrong in one known way (0.1 d = 10.2 mm):
    exact; t off by 50 mm in depth; R off by 90 deg; R off by 90 deg and t
    off by 4 mm in depth."""
    gt_R = Rotation.from_euler('xyz', [10, 20, 30], degrees=True).as_matrix()
    gt_t = np.array([20.0, -10.0, 900.0])
    turned = gt_R @ Rotation.from_euler('z', 90, degrees=True).as_matrix()
    cases = [(gt_R, gt_t), (gt_R, gt_t + [0, 0, 50]), (turned, gt_t),
             (turned, gt_t + [0, 0, 4])]
    samples = []
    for i, (R, t) in enumerate(cases):
        s = PoseDataSample(metainfo=dict(
            img_path=f'/nowhere/{i:06d}.png', obj_id=1, scene_id=2, im_id=i,
            cam_K=CAM_K, ori_shape=(480, 640)))
        s.gt_R = torch.tensor(gt_R, dtype=torch.float32)
        s.gt_t = torch.tensor(gt_t, dtype=torch.float32)
        s.pred_R = torch.tensor(R, dtype=torch.float32)
        s.pred_t = torch.tensor(t, dtype=torch.float32)
        samples.append(s.to_dict())
    return samples


def test_error_split_scores_each_part_alone(monkeypatch):
    from posessl.evaluation.metrics import add_metric
    logged = []
    monkeypatch.setattr(add_metric, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    metric = METRICS.build(dict(type='ADDMetric', error_split=True))
    metric.dataset_meta = FakePoseDataset().metainfo
    metric.process({}, _split_samples())
    m = metric.compute_metrics(metric.results)
    # By hand: the full pose is right in frame 0 only; the rotation alone
    # in frames 0 and 1; the translation alone in 0, 2 and 3 (4 mm < 10.2).
    assert m['ape/ADD_0.1d'] == pytest.approx(25.0)
    assert m['ape/ADD_0.1d_R_only'] == pytest.approx(50.0)
    assert m['ape/ADD_0.1d_t_only'] == pytest.approx(75.0)
    assert m['ADD(-S)_0.1d_R_only'] == pytest.approx(50.0)
    assert m['ADD(-S)_0.1d_t_only'] == pytest.approx(75.0)
    # |dz| = 0, 50, 0, 4: the median averages the middle two
    assert m['depth_err_median_mm'] == pytest.approx(2.0, abs=1e-3)
    header, ape = (next(line.split() for line in logged[0].splitlines()
                        if line.startswith(p)) for p in ('Object', 'ape '))
    assert header[-5:-2] == ['only@0.1d', 'tz', 'med(mm)']
    assert [float(v) for v in ape[-5:-2]] == pytest.approx([50, 75, 2],
                                                           abs=1e-3)
    # Off by default: no extra keys.
    plain = METRICS.build(dict(type='ADDMetric'))
    plain.dataset_meta = FakePoseDataset().metainfo
    plain.process({}, _split_samples())
    assert not any('only' in k for k in plain.compute_metrics(plain.results))


def test_error_split_matches_the_pure_functions():
    gt_R, gt_t, pred_R, pred_t = make_poses()
    gt_R, gt_t = gt_R.astype(np.float32), gt_t.astype(np.float32)
    m = score_fixed_predictions(error_split=True)
    points = make_points()
    for j, (obj_id, name) in enumerate(((1, 'ape/ADD'), (10, 'eggbox/ADD-S'))):
        idx = np.arange(j, NUM_FRAMES, 2)
        fn = PF.adds_error if obj_id == 10 else PF.add_error
        d = DIAMETERS[obj_id]
        r_only = fn(points[obj_id], pred_R[idx], gt_t[idx], gt_R[idx],
                    gt_t[idx])
        t_only = fn(points[obj_id], gt_R[idx], pred_t[idx], gt_R[idx],
                    gt_t[idx])
        assert m[f'{name}_0.1d_R_only'] == pytest.approx(
            100 * float(PF.accuracy_at(r_only, d)[0]))
        assert m[f'{name}_0.1d_t_only'] == pytest.approx(
            100 * float(PF.accuracy_at(t_only, d)[0]))
    # frames 5 (NaN) and 8 (reflection) are invalid and left out of the median
    valid = [i for i in range(NUM_FRAMES) if i not in (5, 8)]
    assert m['depth_err_median_mm'] == pytest.approx(float(np.median(
        np.abs(pred_t[valid, 2].astype(np.float64) - gt_t[valid, 2]))),
        rel=1e-6)
