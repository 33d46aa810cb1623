"""tools/test.py and tools/infer.py on the tiny pose model: the BOP CSV of
``tools/test.py`` holds the inferencer's poses, its run folder's
``vis_data/scalars.json`` and TensorBoard events hold the test metrics,
and ``tools/infer.py`` prints the inferencer's pose."""
import glob
import json
import os.path as osp
import re

import numpy as np
import pytest
import torch

from posessl.apis import PoseInferencer
from posessl.engine.hooks import scalar_metrics
from posessl.evaluation.bop_csv import read_bop_csv
from posessl.visualization import load_rgb
from tests.test_engine._cli import REPO, load_tool, run_tool

from .tiny_pose import frame_infos, tiny_checkpoint, tiny_config


@pytest.fixture(scope='module')
def tested(synthetic_root, tmp_path_factory):
    """The tiny config and checkpoint, and one ``tools/test.py`` run from
    ``out`` with pose overlays to the relative folder ``overlays``."""
    out = tmp_path_factory.mktemp('tiny_cli')
    cfg = tiny_config(synthetic_root)
    config = str(out / 'tiny_pose.py')
    cfg.dump(config)
    ckpt, _ = tiny_checkpoint(cfg, out)
    work_dir = str(out / 'work')
    csv = str(out / 'tiny_synthetic-test.csv')
    proc = run_tool([osp.join(REPO, 'tools', 'test.py'), config, ckpt,
                     '--work-dir', work_dir, '--out', csv, '--show-dir',
                     'overlays'], cwd=str(out))
    return dict(cfg=cfg, config=config, ckpt=ckpt, work_dir=work_dir,
                csv=csv, infos=frame_infos(cfg), stdout=proc.stdout,
                out=out)


def test_test_tool_prints_the_table_and_where_the_rest_went(tested):
    lines = tested['stdout'].splitlines()
    # the ADD table first: no environment or config dump above it
    assert lines[0] == 'ADD(-S) accuracy (%) per object', lines[:3]
    assert not any('System environment' in ln or ln.startswith('Config:')
                   or 'Loads checkpoint' in ln for ln in lines)
    logs = glob.glob(osp.join(tested['work_dir'], '*', '*.log'))
    assert len(logs) == 1
    assert lines[-3:] == [
        f"predictions written to {tested['csv']}",
        'pose overlays written to overlays',
        f'full log (environment, config, progress): {logs[0]}']
    with open(logs[0]) as f:
        log = f.read()
    assert 'System environment' in log and 'Config:' in log
    # the overlays went where the user asked: relative to the current folder
    # (every 50th sample, the hook's interval: the first of the 30)
    names = [p.name for p in (tested['out'] / 'overlays').iterdir()]
    first = tested['infos'][0]
    assert names == [f"{int(first['scene_id']):06d}_"
                     f"{int(first['im_id']):06d}_obj"
                     f"{int(first['obj_id']):06d}.png"]


def test_test_tool_writes_the_inferencers_poses(tested):
    rows = {(r['scene_id'], r['im_id'], r['obj_id']): r
            for r in read_bop_csv(tested['csv'])}
    infos = tested['infos']
    assert len(rows) == len(infos) == 30
    inferencer = PoseInferencer(tested['config'], tested['ckpt'],
                                device='cpu')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the tool ran: the same summation order
    try:
        preds = inferencer.infer([
            dict(image=i['img_path'], obj_id=int(i['obj_id']),
                 cam_K=i['cam_K'], mask=i['mask_path']) for i in infos])
    finally:
        torch.set_num_threads(threads)
    for info, pred in zip(infos, preds):
        row = rows[int(info['scene_id']), int(info['im_id']),
                   int(info['obj_id'])]
        # the CSV keeps 10 digits: float32 values come back exactly
        np.testing.assert_array_equal(row['R'].astype(np.float32), pred.R)
        np.testing.assert_array_equal(row['t'].astype(np.float32), pred.t)


def _tensorboard_scalars(folder: str) -> dict:
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )
    events = glob.glob(osp.join(folder, '**', 'events.out.tfevents.*'),
                       recursive=True)
    assert events, f'no TensorBoard events under {folder}'
    acc = EventAccumulator(osp.dirname(events[0]))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)]
            for tag in acc.Tags()['scalars']}


def test_test_metrics_reach_scalars_json_and_tensorboard(tested):
    run = glob.glob(osp.join(tested['work_dir'], '*', 'vis_data'))
    assert len(run) == 1
    with open(osp.join(run[0], 'scalars.json')) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    assert len(lines) == 1
    scalars = lines[0]
    # the LoggerHook's own json dump of the test run, less its timings
    # (it writes the integer counts as null: they are checked below)
    dumps = glob.glob(osp.join(tested['work_dir'], '*', '*.json'))
    with open(dumps[0]) as f:
        logged = json.loads(f.read().strip().splitlines()[-1])
    expected = {f'test/{k}': v for k, v in logged.items()
                if k not in ('step', 'time', 'data_time')}
    assert scalars.pop('step') == 0
    assert set(scalars) == set(expected)
    assert scalars == pytest.approx(
        {k: v for k, v in expected.items() if v is not None} | {
            'test/add/num_samples': 30, 'test/add/num_invalid': 0})
    assert 0 <= scalars['test/add/ADD(-S)_0.1d'] <= 100
    board = _tensorboard_scalars(run[0])
    assert set(board) == set(expected)
    for tag, value in scalars.items():
        assert board[tag] == [(0, pytest.approx(value, rel=1e-6))]


def test_scalar_metrics_keeps_single_numbers_only():
    metrics = {'a': 1, 'b': 2.5, 'c': torch.tensor(3.0),
               'd': np.float32(0.25), 'e': np.array([7]), 'f': 'text',
               'g': [1, 2], 'h': np.zeros(3), 'i': True,
               'j': float('nan')}
    got = scalar_metrics(metrics)
    assert set(got) == {'test/a', 'test/b', 'test/c', 'test/d', 'test/e',
                        'test/j'}
    assert [got[f'test/{k}'] for k in 'abcde'] == [1.0, 2.5, 3.0, 0.25, 7.0]
    assert np.isnan(got['test/j'])
    assert scalar_metrics(None) == {}


def _infer_tool():
    return load_tool('tools/infer.py')


def test_infer_tool_prints_the_pose_and_saves_the_overlay(
        tested, tmp_path, capsys, synthetic_root):
    info = tested['infos'][3]
    scene = osp.join(str(synthetic_root), 'test',
                     f"{int(info['scene_id']):06d}")
    out = str(tmp_path / 'overlay.png')
    tool = _infer_tool()
    tool.main([tested['config'], tested['ckpt'], info['img_path'],
               '--obj-id', str(int(info['obj_id'])), '--mask',
               info['mask_path'], '--camera',
               osp.join(scene, 'scene_camera.json'), '--im-id',
               str(int(info['im_id'])), '--out', out, '--device', 'cpu'])
    printed = capsys.readouterr().out
    pred = PoseInferencer(tested['config'], tested['ckpt'], device='cpu')(
        info['img_path'], int(info['obj_id']), info['cam_K'],
        mask=info['mask_path'], visualize=True)
    lines = printed.splitlines()
    at = lines.index('R:')
    assert at == 1  # nothing above the pose (no checkpoint log line)
    assert lines[0] == f"obj_id {int(info['obj_id'])}"
    R = np.array([[float(v) for v in line.split()]
                  for line in lines[at + 1:at + 4]])
    t = np.array([float(v) for v in lines[at + 4].split(':')[1].split()])
    np.testing.assert_array_equal(R.astype(np.float32), pred.R)
    np.testing.assert_array_equal(t.astype(np.float32), pred.t)
    assert 'score: None' in printed
    np.testing.assert_array_equal(load_rgb(out), pred.overlay)
    # the same frame by its box against --cam-k: one line naming the need
    K = ' '.join(f'{v:.17g}' for v in np.ravel(info['cam_K'])).split()
    with pytest.raises(SystemExit) as err:
        tool.main([tested['config'], tested['ckpt'], info['img_path'],
                   '--obj-id', str(int(info['obj_id'])), '--box', '10',
                   '10', '50', '50', '--cam-k', *K])
    assert re.fullmatch(r'error: [^\n]*needs the object mask[^\n]*',
                        str(err.value))
    with pytest.raises(SystemExit, match='error: .*nope.png: file not'):
        tool.main([tested['config'], tested['ckpt'],
                   str(tmp_path / 'nope.png'), '--obj-id', '1', '--mask',
                   info['mask_path'], '--cam-k', *K])
