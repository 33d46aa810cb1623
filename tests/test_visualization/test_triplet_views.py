"""tools/analysis/triplet_views.py: the sampler's pairs measured against
the annotated rotations, checked with scipy on the tiny synthetic set."""
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tests.test_engine._cli import load_tool

REPO = Path(__file__).resolve().parents[2]
SSL_CONFIG = str(REPO / 'configs' / 'ssl' / 'ssl_r18_1xb32-5e_synthetic.py')


def _tool():
    return load_tool('tools/analysis/triplet_views.py')


def test_angles_match_scipy_on_the_drawn_triplets(synthetic_root, capsys):
    from posessl.registry import DATA_SAMPLERS, DATASETS

    tool = _tool()
    options = {
        'train_dataloader.dataset.dataset.data_root': str(synthetic_root),
        'train_dataloader.sampler.neg_min_distance': 10,
    }
    args = tool.parse_args([SSL_CONFIG, '--epochs', '2', '--seed', '5'])
    args.cfg_options = options
    angles = tool.analyse(args)
    out = capsys.readouterr().out
    assert 'gadget01' in out and 'crate02 S' in out and '\nall ' in out

    # the same triplets, angles from scene_gt.json through scipy
    from posessl.engine.cli import load_config
    loader = load_config(SSL_CONFIG, options).train_dataloader
    dataset = DATASETS.build(loader.dataset)
    sampler = DATA_SAMPLERS.build(dict(loader.sampler, dataset=dataset,
                                       seed=5))
    rotations = {}
    for obj_id in (1, 2, 3):
        gt = json.loads((synthetic_root / 'train' / f'{obj_id:06d}'
                         / 'scene_gt.json').read_text())
        for im, entries in gt.items():
            rotations[obj_id, int(im)] = Rotation.from_matrix(
                np.reshape(entries[0]['cam_R_m2c'], (3, 3)))
    # object 2 (the crate) looks the same turned by 180 deg about its z
    # axis (models_info.json): its angles are taken up to that turn
    half_turn = Rotation.from_euler('z', 180, degrees=True)
    expected = {1: [], 2: [], 3: []}
    for epoch in range(2):
        sampler.set_epoch(epoch)
        for triplet in sampler:
            info = [dataset.get_data_info(i) for i in triplet]
            obj = info[0]['obj_id']
            rot = [rotations[obj, i['im_id']] for i in info]
            turns = [Rotation.identity()] + [half_turn] * (obj == 2)
            expected[obj].append([
                min(np.degrees((rot[0].inv() * r * s).magnitude())
                    for s in turns) for r in rot[1:]])
    for obj_id in (1, 2, 3):
        np.testing.assert_allclose(angles[obj_id], expected[obj_id],
                                   atol=1e-4)
        # neighbours 1-3 frames apart vs >= 10 apart (4.5 recording frames
        # per step here)
        assert np.median(angles[obj_id][:, 0]) < np.median(
            angles[obj_id][:, 1])


def test_angles_up_to_a_symmetry_by_hand():
    tool = _tool()
    turn = Rotation.from_euler('z', 170, degrees=True).as_matrix()
    half_turn = {'discrete': np.diag([-1.0, -1.0, 1.0])[None],
                 'axes': np.zeros((0, 3))}
    assert tool.view_angle(np.eye(3), turn) == pytest.approx(170.0)
    assert tool.view_angle(np.eye(3), turn, half_turn) == pytest.approx(10.0)
    # about a continuous z symmetry only the tilt of the axis counts
    tilted = Rotation.from_euler('zx', [90, 20], degrees=True).as_matrix()
    round_z = {'discrete': np.zeros((0, 3, 3)), 'axes': np.array([[0, 0, 1.]])}
    assert tool.view_angle(np.eye(3), tilted) > 90.0
    assert tool.view_angle(np.eye(3), tilted, round_z) == pytest.approx(20.0)


def test_read_symmetries_of_a_bop_models_info(tmp_path):
    tool = _tool()
    path = tmp_path / 'models_info.json'
    path.write_text(json.dumps({
        '1': {'diameter': 10.0},
        '2': {'diameter': 10.0, 'symmetries_discrete': [
            [-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]]},
        '3': {'diameter': 10.0, 'symmetries_continuous': [
            {'axis': [0, 0, 1], 'offset': [0, 0, 0]}]}}))
    sym = tool.read_symmetries(str(path))
    assert sorted(sym) == [2, 3]
    np.testing.assert_array_equal(sym[2]['discrete'][0],
                                  np.diag([-1.0, -1.0, 1.0]))
    np.testing.assert_array_equal(sym[3]['axes'], [[0.0, 0.0, 1.0]])


def test_report_columns_by_hand():
    tool = _tool()
    angles = {1: np.array([[5.0, 10.0], [7.0, 40.0], [9.0, 8.0]])}
    report = tool.format_report(angles, {1: 'ape'}, set())
    row = report.splitlines()[1].split()
    # triplets, positive median, p95, negative median, <15, <30, neg<pos
    assert row[0] == 'ape' and row[1] == '3'
    assert [float(v) for v in row[2:]] == pytest.approx(
        [7.0, 8.8, 10.0, 66.7, 66.7, 33.3])
    assert len(report.splitlines()) == 2  # one object: no "all" row


def test_a_config_without_a_sampler_is_refused(tmp_path):
    tool = _tool()
    cfg = tmp_path / 'plain.py'
    cfg.write_text("train_dataloader = dict(batch_size=2)\n")
    with pytest.raises(SystemExit, match='no train_dataloader with a '
                       'sampler'):
        tool.main([str(cfg)])
