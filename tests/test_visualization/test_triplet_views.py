"""tools/analysis/triplet_views.py: the sampler's pairs measured against
the annotated rotations, checked with scipy on the tiny synthetic set."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

REPO = Path(__file__).resolve().parents[2]
SSL_CONFIG = str(REPO / 'configs' / 'ssl' / 'ssl_r18_1xb32-5e_synthetic.py')


def _tool():
    spec = importlib.util.spec_from_file_location(
        'triplet_views', REPO / 'tools' / 'analysis' / 'triplet_views.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    from posessl.engine.runner_setup import load_config
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
    expected = {1: [], 2: [], 3: []}
    for epoch in range(2):
        sampler.set_epoch(epoch)
        for triplet in sampler:
            info = [dataset.get_data_info(i) for i in triplet]
            rot = [rotations[i['obj_id'], i['im_id']] for i in info]
            expected[info[0]['obj_id']].append(
                [np.degrees((rot[0].inv() * r).magnitude()) for r in rot[1:]])
    for obj_id in (1, 2, 3):
        np.testing.assert_allclose(angles[obj_id], expected[obj_id],
                                   atol=1e-4)
        # neighbours 1-3 frames apart vs >= 10 apart (4.5 recording frames
        # per step here)
        assert np.median(angles[obj_id][:, 0]) < np.median(
            angles[obj_id][:, 1])


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
