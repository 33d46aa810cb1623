"""tools/run_pipeline.py: it reuses a synthetic set only if it is the one it
would generate, and prints a progress line and a summary per stage (the
stages' full output goes to their logs)."""
import json
import re
from pathlib import Path

import pytest

from tests.test_engine._cli import load_tool

REPO = Path(__file__).resolve().parents[2]


def _pipeline():
    return load_tool('tools/run_pipeline.py')


def _info(tmp_path: Path, **changes) -> str:
    info = {'objects': {'1': 'a', '2': 'b', '3': 'c'},
            'splits': {'train': 300, 'test': 100}, 'seed': 0,
            'test_recording': 'same'}
    info.update(changes)  # a None value: the key is absent
    path = tmp_path / 'dataset_info.json'
    path.write_text(json.dumps(
        {k: v for k, v in info.items() if v is not None}))
    return str(path)


def test_the_set_it_would_generate_is_reused(tmp_path):
    pipeline = _pipeline()
    pipeline.check_reused_data(_info(tmp_path), pipeline.FULL, seed=0)


@pytest.mark.parametrize('changes, message', [
    # made before test_recording existed: an independent test recording
    (dict(test_recording=None), "test_recording 'new'"),
    (dict(splits={'train': 60, 'test': 16}), 'splits'),
    (dict(seed=3), 'seed 3'),
])
def test_another_set_stops_the_run_naming_the_file(tmp_path, changes,
                                                   message):
    pipeline = _pipeline()
    info = _info(tmp_path, **changes)
    with pytest.raises(SystemExit) as exc:
        pipeline.check_reused_data(info, pipeline.FULL, seed=0)
    assert info in str(exc.value) and message in str(exc.value)
    assert 'Delete its folder' in str(exc.value)


# ------------------------------------------------------------ quiet output
def test_progress_reads_mmengine_and_tqdm_lines(capsys):
    pipeline = _pipeline()
    ssl = pipeline.StageProgress('ssl', epochs=5)
    ssl.feed('12/02 14:23:07 - mmengine - INFO - Epoch(train)  [2][ 10/40]  '
             'lr: 5.0000e-04  eta: 0:01:23  time: 0.25  data_time: 0.01  '
             'loss: 0.3130  pos_sim: 0.5013')
    # epoch 2 of 5, 10 of 40 iterations into it: 50 of 200
    assert (ssl.done, ssl.total, ssl.loss, ssl.eta) == (50, 200, '0.3130',
                                                        '0:01:23')
    pose = pipeline.StageProgress('pose')
    pose.feed('... - INFO - Iter(train) [ 30/40]  base_lr: 1.0e-04 lr: 1e-05'
              '  eta: 0:00:07  time: 0.7  loss: 3.5287  loss_pm: 0.4291')
    pose.feed('... - INFO - Epoch(val) [1][5/5]  loss: 9.9')  # not training
    assert (pose.done, pose.total, pose.loss) == (30, 40, '3.5287')
    data = pipeline.StageProgress('data')
    data.feed('synthetic LINEMOD:  39%|###9      | 60/152 [00:14<00:21,  '
              '4.20frame/s]')
    assert (data.done, data.total, data.eta) == (60, 152, '00:21')
    # not a terminal: one line per quarter passed (25 % and 75 % above)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and '25% 50/200' in out[0] and \
        'loss 0.3130' in out[0] and '75% 30/40' in out[1]


def test_add_table_is_cut_from_the_test_log(tmp_path):
    table = ['ADD(-S) accuracy (%) per object', '-' * 10, 'Object  0.1d',
             '-' * 10, 'a       50.00', '-' * 10, 'Mean    50.00', '-' * 10]
    log = tmp_path / 'test.log'
    log.write_text('\n'.join(
        ['12/02 14:26:44 - mmengine - INFO - Load checkpoint',
         '12/02 14:26:53 - mmengine - INFO - '] + table +
        ['12/02 14:26:53 - mmengine - INFO - ADDMetric: wrote 32 poses']))
    assert _pipeline().add_table(str(log)) == table
    # tools/test.py prints the table with its notes below, no log prefix
    log.write_text('\n'.join(table + ['predictions written to x.csv',
                                       'full log (...): w/1/1.log']))
    assert _pipeline().add_table(str(log)) == table


def test_a_failing_stage_shows_the_end_of_its_log(tmp_path, capsys):
    pipeline = _pipeline()
    log = tmp_path / 'stage.log'
    script = '[print(f"line {i}") for i in range(30)]; raise SystemExit(3)'
    with pytest.raises(SystemExit) as exc:
        pipeline.run(['-c', script], str(log))
    out = capsys.readouterr().out.splitlines()
    # the command as one types it, and the command in the error line
    assert out[0].startswith('$ python -c') and str(log) in out[1]
    assert out[2:22] == [f'line {i}' for i in range(10, 30)]
    assert str(log) in str(exc.value) and 'python -c' in str(exc.value)
    assert 'exit status 3' in str(exc.value)
    assert log.read_text().splitlines() == [f'line {i}' for i in range(30)]


# ------------------------------------------------- what it runs and reports
def test_data_command_overwrites_only_what_an_interruption_left(
        tmp_path, monkeypatch):
    pipeline = _pipeline()
    monkeypatch.chdir(tmp_path)
    cmd = pipeline.data_command('data/set', pipeline.QUICK, seed=1)
    assert cmd[0] == str(REPO / 'tools' / 'make_synthetic_linemod.py')
    assert cmd[1:] == ['data/set', '--num-objects', '2', '--train-frames',
                       '60', '--test-frames', '16', '--seed', '1']
    (tmp_path / 'data' / 'set').mkdir(parents=True)  # empty: no overwrite
    assert '--overwrite' not in pipeline.data_command('data/set',
                                                      pipeline.QUICK, 1)
    (tmp_path / 'data' / 'set' / 'camera.json').write_text('{}')
    assert pipeline.data_command('data/set', pipeline.QUICK,
                                 1)[-1] == '--overwrite'


def test_printed_commands_are_relative_to_the_current_folder(
        tmp_path, monkeypatch):
    pipeline = _pipeline()
    monkeypatch.chdir(REPO)
    assert pipeline.shown([pipeline.tool('train.py'), 'a b', '/x/y.py']) \
        == "python tools/train.py 'a b' /x/y.py"
    monkeypatch.chdir(tmp_path)  # outside: the scripts' full paths
    assert pipeline.shown([pipeline.tool('test.py')]) == \
        f'python {REPO}/tools/test.py'


def test_configs_are_paths_or_names(tmp_path, monkeypatch):
    pipeline = _pipeline()
    monkeypatch.chdir(tmp_path)
    config = REPO / 'configs' / 'ssl' / 'ssl_r18_1xb32-5e_synthetic.py'
    assert pipeline.find_config(pipeline.SSL_CONFIG) == str(config)
    assert pipeline.find_config('ssl_r18_1xb32-5e_synthetic') == str(config)
    with pytest.raises(SystemExit, match="config 'ssl_nope' not found"):
        pipeline.find_config('ssl_nope')


def test_overlays_of_this_run_only(tmp_path):
    pipeline = _pipeline()
    old = tmp_path / 'overlays'
    old.mkdir()
    (old / 'a.png').write_bytes(b'')  # an earlier run's picture
    folder = pipeline.fresh_overlay_dir(str(tmp_path))
    assert folder == str(old) and not old.exists()
    assert pipeline.fresh_overlay_dir(str(tmp_path)) == folder  # none yet


@pytest.mark.slow
def test_the_main_job_prints_a_short_report(egl, tmp_path, capsys,
                                            monkeypatch):
    pipeline = _pipeline()
    # --quick made smaller still: 2 objects x (60 + 4) frames, 1 epoch,
    # 4 pose iterations
    monkeypatch.setattr(pipeline, 'QUICK', dict(
        num_objects=2, train_frames=60, test_frames=4, ssl_epochs=1,
        pose_iters=4))
    work_dir = tmp_path / 'run'
    pipeline.main(['--quick', '--work-dir', str(work_dir), '--data-root',
                   str(tmp_path / 'data'), '--num-workers', '0'])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) < 60, out
    for stage in ('data', 'ssl', 'pose', 'test'):
        log = work_dir / f'{stage}.log'
        assert log.is_file() and f'log {log}' in out, stage
    assert '1 epochs in' in out and '4 iterations in' in out
    assert 'last logged loss' in out
    # the ADD table in full: title, rules, header, 2 objects, mean
    start = lines.index('ADD(-S) accuracy (%) per object')
    assert lines[start + 2].startswith('Object') and \
        lines[start + 4].startswith('gadget01') and \
        lines[start + 7].startswith('Mean (2 obj)')
    assert f'BOP results CSV: {work_dir}/posessl_synthetic-test.csv' in out
    assert 'pose overlays:' in out
    # what MMEngine prints stays in the logs
    assert 'System environment' not in out
    assert 'System environment' in (work_dir / 'ssl.log').read_text()
    assert 'Failed to search registry' not in (
        work_dir / 'pose.log').read_text()
    # the data command it printed is the one it ran: nothing overwritten
    data_cmd = next(line for line in lines if 'make_synthetic' in line)
    assert data_cmd.startswith('$ python ') and '--overwrite' not in data_cmd
    # a rerun reuses the data and both checkpoints, tests again and reports
    # the overlays of its own test run, not those of both runs
    pipeline.main(['--quick', '--work-dir', str(work_dir), '--data-root',
                   str(tmp_path / 'data'), '--num-workers', '0'])
    again = capsys.readouterr().out
    assert f'reusing {tmp_path / "data"}' in again
    assert again.count('already trained') == 2
    assert again.count('$ python ') == 1  # the test stage alone

    def overlay_count(text: str) -> str:
        return re.search(r'pose overlays: .*\((\d+) PNGs', text).group(1)

    assert overlay_count(again) == overlay_count(out)
    # one overlay folder, emptied before each test run: no pile-up
    pictures = list((work_dir / 'test' / 'overlays').glob('*.png'))
    assert len(pictures) == int(overlay_count(again)) > 0
