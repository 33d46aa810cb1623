"""Every entry point trusts only a checkpoint that fits (names, shapes,
finite values), a work dir holds one training run at a time, and each bad
input of the tools gets one ``error:`` line (a failed checkpoint write says
which checkpoint is still good): by the exit status, the line and the files
on disk."""
import errno
import json
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys
from unittest import mock

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from posessl.engine import CheckpointError, check_checkpoint_fits
from posessl.engine.checkpoint_safety import (
    AtomicLocalBackend,
    load_checkpoint_file,
)
from posessl.engine.work_dir_lock import (
    LOCK_NAME,
    WorkDirLock,
    WorkDirLocked,
    _process_start,
)

from ._cli import FIXTURES, REPO, TOY_CONFIG, load_tool, run_tool


def _error_line(proc: subprocess.CompletedProcess) -> str:
    """The one ``error:`` line of a failed tool run (and no traceback)."""
    assert proc.returncode == 1, proc.stderr
    assert 'Traceback' not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith('error:')]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def _exit_line(main, argv) -> str:
    """The ``error:`` line a tool's ``main`` exits with, in-process."""
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert isinstance(err.value.code, str), err.value.code  # status 1
    assert '\n' not in err.value.code
    return err.value.code


def _checkpoints(folder) -> list:
    return sorted(f for f in os.listdir(folder) if f.endswith('.pth'))


# ------------------------------------------------- the checkpoint check
class _Pose(torch.nn.Module):
    """Weights named as a pose model's: backbone and head."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = torch.nn.Linear(2, 2)
        self.head = torch.nn.Linear(2, 3)


class _Pretrainer(torch.nn.Module):
    """Weights named as a ContrastivePretrainer's: backbone and neck."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = torch.nn.Linear(2, 2)
        self.neck = torch.nn.Linear(2, 4)


def _refusal(state, model, allow_partial=False) -> str:
    with pytest.raises(CheckpointError) as err:
        check_checkpoint_fits(state, model, 'x.pth', allow_partial)
    assert '\n' not in str(err.value)
    return str(err.value)


def test_a_fitting_checkpoint_passes_with_a_ddp_prefix_stripped():
    model = _Pose()
    saved = {f'module.{k}': v for k, v in model.state_dict().items()}
    weights = check_checkpoint_fits(saved, model, 'x.pth')
    assert list(weights) == list(model.state_dict())


def test_a_pretraining_checkpoint_is_named_and_sent_to_init_cfg():
    assert _refusal(_Pretrainer().state_dict(), _Pose()) == (
        "checkpoint 'x.pth' is a self-supervised pretraining checkpoint "
        '(backbone and projection neck, no pose head: what a configs/ssl/ '
        "config trains), and this config's model is a pose model: test, "
        'infer or resume it with a checkpoint of a pose config '
        '(configs/pose/), or start a pose model from it by training an '
        'ssl-ft pose config (configs/pose/pose_*-ssl-ft*) with --cfg-options '
        'model.backbone.init_cfg.checkpoint=x.pth')
    assert _refusal(_Pose().state_dict(), _Pretrainer()).startswith(
        "checkpoint 'x.pth' is a pose model's checkpoint (it has a pose "
        "head: what a configs/pose/ config trains), and this config's model "
        'is a self-supervised pretrainer (configs/ssl/)')


def test_missing_and_unexpected_weights_are_counted_and_named():
    saved = dict(_Pose().state_dict())
    del saved['head.bias']
    saved['proj.weight'] = torch.zeros(1)
    assert _refusal(saved, _Pose()).startswith(
        "checkpoint 'x.pth' does not match the model: 1 of the model's 4 "
        'weights are missing (head (1); first head.bias); 1 weights are not '
        'in the model (proj (1); first proj.weight).')


def test_a_tensor_of_another_shape_is_named_with_both_shapes():
    saved = dict(_Pose().state_dict())
    saved['head.weight'] = torch.zeros(5, 2)  # trained on 5 objects
    assert _refusal(saved, _Pose()).startswith(
        "checkpoint 'x.pth' does not fit the model: head.weight is (5, 2) in "
        'the checkpoint and (3, 2) in the model (1 of 4 tensors differ).')


def test_non_finite_weights_are_refused_naming_the_first():
    saved = dict(_Pose().state_dict())
    saved['head.bias'] = torch.tensor([0.0, float('nan'), float('inf')])
    assert _refusal(saved, _Pose()) == (
        "checkpoint 'x.pth' holds weights that are not finite: head.bias has "
        '2 NaN/inf values (1 of 4 tensors are affected); it was saved from a '
        'run that diverged, or it was damaged: use an earlier checkpoint of '
        'that run')


def test_load_partial_loads_what_fits_but_never_non_finite_weights():
    saved = dict(_Pose().state_dict())
    saved['head.weight'] = torch.zeros(5, 2)
    del saved['head.bias']
    saved['neck.weight'] = torch.zeros(4, 2)
    weights = check_checkpoint_fits(saved, _Pose(), 'x.pth',
                                    allow_partial=True)
    assert sorted(weights) == ['backbone.bias', 'backbone.weight']
    saved['backbone.bias'] = torch.full((2, ), float('nan'))
    assert 'backbone.bias has 2 NaN/inf' in _refusal(saved, _Pose(), True)
    assert _refusal({'neck.weight': torch.zeros(4, 2)}, _Pose(),
                    True).startswith("checkpoint 'x.pth' shares no weight")


def _toy_checkpoint(path, weight) -> str:
    torch.save({'state_dict': {'linear.weight': weight}}, str(path))
    return str(path)


def test_tools_test_refuses_a_checkpoint_of_another_shape(tmp_path):
    ckpt = _toy_checkpoint(tmp_path / 'wide.pth', torch.zeros(2, 4))
    work_dir = tmp_path / 'test'
    line = _error_line(run_tool(['tools/test.py', TOY_CONFIG, ckpt,
                                 '--work-dir', str(work_dir)], check=False))
    assert line.startswith(
        f"error: checkpoint {ckpt!r} does not fit the model: linear.weight "
        'is (2, 4) in the checkpoint and (1, 4) in the model')
    assert not list(work_dir.glob('*/*.json'))  # nothing was scored


def test_tools_test_refuses_non_finite_weights(tmp_path):
    ckpt = _toy_checkpoint(tmp_path / 'nan.pth',
                           torch.tensor([[1.0, float('nan'), 2.0, 3.0]]))
    line = _error_line(run_tool(['tools/test.py', TOY_CONFIG, ckpt,
                                 '--work-dir', str(tmp_path / 'test')],
                                check=False))
    assert line.startswith(f'error: checkpoint {ckpt!r} holds weights that '
                           'are not finite: linear.weight has 1 NaN/inf')


@pytest.mark.parametrize('how', ['resume', 'partial_load_from'])
def test_training_refuses_to_start_from_non_finite_weights(how, tmp_path):
    ckpt = _toy_checkpoint(tmp_path / 'nan.pth',
                           torch.full((1, 4), float('inf')))
    options = ['--resume', ckpt] if how == 'resume' else [
        '--cfg-options', f'load_from={ckpt}', 'load_partial=True']
    work_dir = tmp_path / 'run'
    line = _error_line(run_tool(['tools/train.py', TOY_CONFIG, '--work-dir',
                                 str(work_dir)] + options, check=False))
    # the file is blamed, not the learning rate, before any step
    assert line.startswith(f'error: checkpoint {ckpt!r} holds weights that '
                           'are not finite: linear.weight has 4 NaN/inf '
                           'values')
    assert 'learning rate' not in line
    assert _checkpoints(work_dir) == []
    assert not (work_dir / LOCK_NAME).exists()


# -------------------------------------------------------- work dir lock
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


def _write_lock(folder, **fields) -> str:
    record = dict(pid=_dead_pid(), host=socket.gethostname(),
                  pid_start=None, started='2020-01-01 00:00:00',
                  command='python tools/train.py old.py', token='old')
    record.update(fields)
    path = osp.join(str(folder), LOCK_NAME)
    with open(path, 'w') as f:
        f.write(json.dumps(record))
    return path


def test_a_held_work_dir_refuses_a_second_lock_naming_the_first(tmp_path):
    with WorkDirLock(str(tmp_path), command='python tools/train.py a.py'):
        with pytest.raises(WorkDirLocked) as err:
            WorkDirLock(str(tmp_path)).acquire()
    message = str(err.value)
    assert message.startswith(
        f'work dir {str(tmp_path)!r} is in use by another run (pid '
        f'{os.getpid()} on {socket.gethostname()}, started ')
    assert message.endswith(
        ': python tools/train.py a.py); two runs in one work dir overwrite '
        "each other's checkpoints. Wait for it to end or give another "
        f'--work-dir (if that run is gone, delete {tmp_path / LOCK_NAME})')
    assert os.listdir(tmp_path) == []  # released, no temporary left


@pytest.mark.parametrize('case', ['dead_pid', 'reused_pid', 'unreadable'])
def test_a_stale_lock_is_taken_over(case, tmp_path):
    if case == 'dead_pid':
        path = _write_lock(tmp_path)
    elif case == 'reused_pid':  # the pid now belongs to a later process
        start = _process_start(os.getpid())
        if start is None:
            pytest.skip('no /proc here')
        path = _write_lock(tmp_path, pid=os.getpid(), pid_start=start - 1)
    else:
        path = osp.join(str(tmp_path), LOCK_NAME)
        with open(path, 'w') as f:
            f.write('{"pid": 12')  # cut off
    with WorkDirLock(str(tmp_path), command='new'):
        with open(path) as f:
            assert '"command": "new"' in f.read()
    assert os.listdir(tmp_path) == []


def test_a_lock_of_another_host_is_respected(tmp_path):
    _write_lock(tmp_path, host='elsewhere', pid=1)
    with pytest.raises(WorkDirLocked, match='pid 1 on elsewhere'):
        WorkDirLock(str(tmp_path)).acquire()


def test_release_leaves_another_runs_lock_alone(tmp_path):
    lock = WorkDirLock(str(tmp_path))
    lock.acquire()
    path = _write_lock(tmp_path, pid=os.getpid())  # taken over meanwhile
    lock.release()
    assert osp.isfile(path)


def test_a_second_training_in_a_held_work_dir_stops(tmp_path):
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    with WorkDirLock(str(work_dir), command='python tools/train.py first'):
        line = _error_line(run_tool(['tools/train.py', TOY_CONFIG,
                                     '--work-dir', str(work_dir)],
                                    check=False))
        assert line.startswith(f'error: work dir {str(work_dir)!r} is in use '
                               f'by another run (pid {os.getpid()} on ')
        assert 'python tools/train.py first' in line
        assert _checkpoints(work_dir) == []
        assert (work_dir / LOCK_NAME).exists()  # still the first run's


def test_a_training_takes_over_a_crashed_runs_lock_and_removes_it(tmp_path):
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    _write_lock(work_dir)
    run_tool(['tools/train.py', TOY_CONFIG, '--work-dir', str(work_dir),
              '--cfg-options', 'train_cfg.max_epochs=1'])
    assert _checkpoints(work_dir) == ['epoch_1.pth']
    assert not (work_dir / LOCK_NAME).exists()


# ----------------------------------------------------- one line, no trace
@pytest.fixture(scope='module')
def tools():
    """The tools' modules, to call ``main`` in-process."""
    sys.path.insert(0, FIXTURES)  # the toy config's custom_imports
    try:
        yield {name: load_tool(f'tools/{name}.py')
               for name in ('train', 'test', 'infer', 'visualize_pose')}
    finally:
        sys.path.remove(FIXTURES)


@pytest.mark.parametrize('tool', ['train', 'infer'])
def test_cfg_options_without_equals_is_a_usage_error(tool, tools, capsys):
    argv = {'train': [TOY_CONFIG],
            'infer': [TOY_CONFIG, 'x.pth', 'x.png', '--obj-id', '1',
                      '--box', '0', '0', '1', '1', '--cam-k'] +
            ['1'] * 9}[tool]
    with pytest.raises(SystemExit) as err:
        tools[tool].main(argv + ['--cfg-options', 'train_cfg.max_epochs'])
    assert err.value.code == 2
    stderr = capsys.readouterr().err  # argparse's usage, then its line
    assert stderr.startswith('usage: ') and 'Traceback' not in stderr
    assert stderr.splitlines()[-1].endswith(
        ": error: argument --cfg-options: 'train_cfg.max_epochs' is not "
        'key=value (e.g. train_cfg.max_iters=100)')
    with pytest.raises(SystemExit):
        tools[tool].main(argv + ['--cfg-options', 'model.x=[1,2'])
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        "'model.x=[1,2': its brackets do not pair")


def test_cfg_options_of_the_wrong_type_name_the_key(tools, tmp_path):
    train = tools['train'].main
    base = [TOY_CONFIG, '--work-dir', str(tmp_path)]
    assert _exit_line(train, base + [
        '--cfg-options', 'train_dataloader.batch_size=two']) == (
        "error: --cfg-options train_dataloader.batch_size='two': "
        'train_dataloader.batch_size takes an integer (the config has 4)')
    assert _exit_line(train, base + [
        '--cfg-options', 'optim_wrapper.optimizer.lr=fast']) == (
        "error: --cfg-options optim_wrapper.optimizer.lr='fast': "
        'optim_wrapper.optimizer.lr takes a number (the config has 0.05)')
    assert _exit_line(train, base + [
        '--cfg-options', 'param_scheduler.0.milestones.0=x']).startswith(
        "error: --cfg-options param_scheduler.0.milestones.0='x': ")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_a_work_dir_that_cannot_be_created_is_one_line(tool, tools,
                                                       tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('')
    work_dir = str(blocker / 'work')
    argv = [TOY_CONFIG]
    if tool == 'test':
        argv.append(_toy_checkpoint(tmp_path / 'ok.pth', torch.zeros(1, 4)))
    assert _exit_line(tools[tool].main, argv + ['--work-dir', work_dir]) == (
        f'error: work dir {work_dir!r} cannot be created ([Errno 20] Not a '
        'directory); give a folder you can write to with --work-dir')


def test_object_storage_checkpoints_are_refused_in_one_line(tools, tmp_path):
    url = 's3://bucket/pose.pth'
    assert _exit_line(tools['test'].main, [
        TOY_CONFIG, url, '--work-dir', str(tmp_path)]).startswith(
        f"error: checkpoint {url!r} is a URL")
    for load in (load_checkpoint_file, CheckpointLoader.load_checkpoint):
        # the API and MMEngine's loader (load_from, init_cfg), no client
        with pytest.raises(CheckpointError, match=f"^'{url}' is a URL, and "
                           'posessl reads checkpoints from local files'):
            load(url)


def test_infer_camera_file_without_im_id_is_one_line(tools, tmp_path):
    camera = tmp_path / 'scene_camera.json'
    camera.write_text('{"0": {"cam_K": [1, 0, 0, 0, 1, 0, 0, 0, 1]}}')
    ckpt = _toy_checkpoint(tmp_path / 'ok.pth', torch.zeros(1, 4))
    assert _exit_line(tools['infer'].main, [
        TOY_CONFIG, ckpt, 'x.png', '--obj-id', '1', '--box', '0', '0', '1',
        '1', '--camera', str(camera)]) == (
        f'error: {camera}: not a BOP camera.json (fx, fy, cx, cy); for a '
        'scene_camera.json give --im-id')


def test_infer_missing_checkpoint_is_worded_as_the_other_tools(
        tools, tmp_path, capsys):
    missing = str(tmp_path / 'missing.pth')
    assert _exit_line(tools['infer'].main, [
        TOY_CONFIG, missing, 'x.png', '--obj-id', '1', '--box', '0', '0',
        '1', '1', '--cam-k'] + ['1'] * 9) == (
        f'error: checkpoint {missing!r} does not exist.')
    assert capsys.readouterr().out == ''  # no MMEngine loading line


# ------------------------------------------------- failed checkpoint write
def test_a_failed_write_names_the_file_and_the_intact_checkpoint(tmp_path):
    good = tmp_path / 'epoch_1.pth'
    good.write_bytes(b'good')
    (tmp_path / 'last_checkpoint').write_text(str(good))
    target = str(tmp_path / 'epoch_2.pth')
    full = OSError(errno.ENOSPC, 'No space left on device')
    with mock.patch('os.fsync', side_effect=full):
        with pytest.raises(CheckpointError) as err:
            AtomicLocalBackend().put(b'new', target)
    assert str(err.value) == (
        f'could not write checkpoint {target!r} ([Errno 28] No space left on '
        f'device); nothing was replaced: the last good checkpoint is still '
        f'{good}')
    assert sorted(os.listdir(tmp_path)) == ['epoch_1.pth', 'last_checkpoint']
    assert good.read_bytes() == b'good'


@pytest.mark.skipif(shutil.which('bash') is None, reason='needs bash')
def test_a_training_whose_save_fails_stops_in_one_line(tmp_path):
    # resume a run at epoch 1 with files limited to 4 KiB: the config dump
    # and a WARNING-level log fit, the epoch-2 checkpoint (9 KiB) does not
    work_dir = tmp_path / 'run'
    run_tool(['tools/train.py', TOY_CONFIG, '--work-dir', str(work_dir),
              '--cfg-options', 'train_cfg.max_epochs=1'])
    epoch1 = work_dir / 'epoch_1.pth'
    before = epoch1.read_bytes()
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([FIXTURES, REPO]))
    proc = subprocess.run(
        ['bash', '-c', 'ulimit -f 4 && exec "$@"', 'bash', sys.executable,
         'tools/train.py', TOY_CONFIG, '--work-dir', str(work_dir),
         '--resume', '--cfg-options', 'log_level=WARNING'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    line = _error_line(proc)
    epoch2 = str(work_dir / 'epoch_2.pth')
    assert line == (f'error: could not write checkpoint {epoch2!r} ([Errno '
                    f'{errno.EFBIG}] File too large); nothing was replaced: '
                    f'the last good checkpoint is still {epoch1}')
    assert _checkpoints(work_dir) == ['epoch_1.pth']
    assert epoch1.read_bytes() == before
    assert not [f for f in os.listdir(work_dir) if f.endswith('.tmp')]
    assert not (work_dir / LOCK_NAME).exists()
