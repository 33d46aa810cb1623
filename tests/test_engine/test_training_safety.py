"""No silent wrong result, no lost work: a diverging run stops before it
saves, a mismatching, truncated or foreign checkpoint is refused in one line,
checkpoints are written atomically, Ctrl-C saves the current iteration and
--resume continues from it."""
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys
from types import SimpleNamespace
from unittest import mock

import pytest
import torch

from posessl.engine import (
    NonFiniteLossHook,
    TrainingStopped,
    load_checkpoint_file,
)
from posessl.engine.checkpoint_safety import AtomicLocalBackend

from ._cli import REPO, TOY_CONFIG, load_tool, run_tool


def _error_line(proc: subprocess.CompletedProcess) -> str:
    """The one ``error:`` line of a failed tool run (and no traceback)."""
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith('error:')]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def _all_finite(checkpoint: str) -> bool:
    state = load_checkpoint_file(checkpoint)['state_dict']
    return all(bool(torch.isfinite(v).all()) for v in state.values())


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """An uninterrupted 2-epoch toy run (8 iterations an epoch)."""
    work_dir = str(tmp_path_factory.mktemp('trained'))
    run_tool(['tools/train.py', TOY_CONFIG, '--work-dir', work_dir])
    return work_dir


# ------------------------------------------------------------ non-finite loss
def test_diverging_run_stops_before_saving_a_non_finite_checkpoint(tmp_path):
    # at lr 30 the toy loss overflows in epoch 2 (iterations 9-16), after
    # epoch_1.pth was saved
    work_dir = str(tmp_path)
    proc = run_tool(['tools/train.py', TOY_CONFIG, '--work-dir', work_dir,
                     '--cfg-options', 'optim_wrapper.optimizer.lr=30'],
                    check=False)
    line = _error_line(proc)
    assert proc.returncode == 1
    assert 'the loss is not finite (loss=' in line
    assert '(epoch 2)' in line
    epoch1 = osp.join(work_dir, 'epoch_1.pth')
    assert f'the last good checkpoint is {epoch1}' in line
    # only the good checkpoint is on disk, and it is finite
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) \
        == ['epoch_1.pth']
    assert _all_finite(epoch1)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read() == epoch1


def _runner(model: torch.nn.Module, iteration: int = 4,
            work_dir: str = '/nonexistent') -> SimpleNamespace:
    hub = mock.Mock()
    hub.get_info.return_value = '/elsewhere/iter_9.pth'  # a resumed run's
    return SimpleNamespace(model=model, iter=iteration, epoch=0,
                           message_hub=hub, logger=mock.Mock(),
                           work_dir=work_dir)


def test_non_finite_loss_names_the_iteration_and_terms(tmp_path):
    hook = NonFiniteLossHook()
    saved = tmp_path / 'iter_2.pth'
    saved.write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(saved))
    runner = _runner(torch.nn.Linear(2, 1), work_dir=str(tmp_path))
    outputs = dict(loss=torch.tensor(float('nan')),
                   loss_rot=torch.tensor(0.5),
                   loss_t=torch.tensor(float('nan')), pos_sim=1.0)
    with pytest.raises(TrainingStopped) as err:
        hook.after_train_iter(runner, 0, outputs=outputs)
    message = str(err.value)
    assert message.startswith('training stopped at iteration 5 (epoch 1): '
                              'the loss is not finite (loss=nan, '
                              'loss_rot=0.5, loss_t=nan)')
    # the work dir's last checkpoint, not the message hub's (which a resumed
    # run inherits from the run that wrote its checkpoint)
    assert f'the last good checkpoint is {saved}' in message
    assert 'pos_sim' not in message  # not a loss term
    assert len(message.splitlines()) == 1
    runner.work_dir = str(tmp_path / 'fresh')
    with pytest.raises(TrainingStopped, match='no checkpoint was saved in '
                       f'{tmp_path}/fresh yet'):
        hook.after_train_iter(runner, 0, outputs=outputs)


def test_non_finite_weights_after_a_finite_loss_stop_too():
    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.bias.fill_(float('inf'))
    with pytest.raises(TrainingStopped, match='1 weight tensors non-finite '
                       r'\(e\.g\. bias'):
        NonFiniteLossHook().after_train_iter(
            _runner(model), 0, outputs=dict(loss=torch.tensor(1.0)))
    # and a checkpoint holding them is refused
    with pytest.raises(TrainingStopped, match='refused to save'):
        NonFiniteLossHook().before_save_checkpoint(
            _runner(model), dict(state_dict=model.state_dict()))


def test_divergence_warning_once_above_factor_times_the_start_median():
    hook = NonFiniteLossHook(start_iters=3, divergence_factor=10)
    runner = _runner(torch.nn.Linear(2, 1))
    hook.before_train(runner)
    # start: 1, 4, 2 -> median 2; the threshold is 20
    for i, loss in enumerate([1.0, 4.0, 2.0, 19.9, 20.0, 20.1, 500.0]):
        runner.iter = i
        hook.after_train_iter(runner, i, outputs=dict(loss=loss))
    assert runner.logger.warning.call_count == 1  # once, at 20.1
    message = runner.logger.warning.call_args[0][0]
    assert message.startswith('iteration 6 (epoch 1): the loss 20.1 is over '
                              '10 times its median over the first 3 '
                              'iterations (2)')


# --------------------------------------------------------- wrong checkpoints
def test_another_models_checkpoint_is_not_scored(tmp_path):
    other = str(tmp_path / 'other.pth')
    torch.save({'state_dict': {'backbone.weight': torch.zeros(1, 4),
                               'linear.weight': torch.ones(1, 4)}}, other)
    test = ['tools/test.py', TOY_CONFIG, other, '--work-dir',
            str(tmp_path / 'test')]
    line = _error_line(run_tool(test, check=False))
    assert line == (
        f"error: checkpoint {other!r} does not match the model: 1 weights "
        'are not in the model (backbone (1); first backbone.weight). Is it a '
        'checkpoint of this config? To load part of a model on purpose set '
        'load_partial=True in the config, or load a backbone with '
        "init_cfg=dict(type='Pretrained', prefix='backbone.')")
    # loading part of a model on purpose stays possible
    run_tool(test + ['--cfg-options', 'load_partial=True'])


@pytest.mark.parametrize('kind', ['text', 'truncated', 'raw_pickle'])
def test_unreadable_checkpoint_named_in_one_line(kind, trained, tmp_path):
    path = str(tmp_path / f'{kind}.pth')
    marker = tmp_path / 'pwned'

    class Payload:

        def __reduce__(self):
            return (os.system, (f'touch {marker}', ))

    if kind == 'text':
        with open(path, 'w') as f:
            f.write('epoch 2: loss 0.31\n' * 20)
        expected = (f"error: {path!r} is not a PyTorch checkpoint (it starts "
                    "with b'epoch 2:'")
    elif kind == 'truncated':
        with open(osp.join(trained, 'epoch_2.pth'), 'rb') as f:
            data = f.read()
        with open(path, 'wb') as f:
            f.write(data[:len(data) // 2])  # a save cut off half-way
        expected = (f'error: {path!r} is not a readable PyTorch checkpoint '
                    '(truncated or corrupt: was its save cut off?)')
    else:
        with open(path, 'wb') as f:
            pickle.dump({'state_dict': {}, 'x': Payload()}, f)
        expected = (f'error: checkpoint {path!r} was refused: it is a plain '
                    'pickle (pickle.dump, not torch.save')
    for cmd in (['tools/test.py', TOY_CONFIG, path],
                ['tools/train.py', TOY_CONFIG, '--cfg-options',
                 f'load_from={path}']):
        proc = run_tool(cmd + ['--work-dir', str(tmp_path / 'w')],
                        check=False)
        assert _error_line(proc).startswith(expected), proc.stderr
        assert 'malformed' not in proc.stderr
    assert not marker.exists()


# -------------------------------------------------------- atomic checkpoints
def test_atomic_put_replaces_whole_or_leaves_the_old_file(tmp_path):
    target = tmp_path / 'epoch_1.pth'
    target.write_bytes(b'old')
    backend = AtomicLocalBackend()
    backend.put(b'new contents', str(target))
    assert target.read_bytes() == b'new contents'
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    with mock.patch('os.replace', side_effect=KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):  # killed before the rename
            backend.put(b'half', str(target))
    assert target.read_bytes() == b'new contents'
    assert os.listdir(tmp_path) == ['epoch_1.pth']  # no temporary left


def test_pipeline_retrains_a_stage_whose_final_checkpoint_is_cut_off(
        trained, tmp_path, monkeypatch):
    pipeline = load_tool('tools/run_pipeline.py')
    work_dir = str(tmp_path / 'stage')
    shutil.copytree(trained, work_dir)
    final = osp.join(work_dir, 'epoch_2.pth')
    with open(final, 'rb') as f:
        data = f.read()
    with open(final, 'wb') as f:
        f.write(data[:1000])  # killed while saving the final checkpoint
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(final)
    monkeypatch.setenv('PYTHONPATH', os.pathsep.join(
        [osp.join(REPO, 'tests', 'fixtures'), REPO]))
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    assert pipeline.train_stage(TOY_CONFIG, work_dir, ['randomness.seed=42'],
                                'epoch_2.pth') == final
    assert osp.isfile(final + '.broken')
    # it resumed from epoch 1 (the newest checkpoint that loads) and ended
    # where the uninterrupted run did
    retrained = load_checkpoint_file(final)
    assert retrained['meta']['epoch'] == 2
    torch.testing.assert_close(
        retrained['state_dict']['linear.weight'],
        load_checkpoint_file(osp.join(trained, 'epoch_2.pth'))['state_dict']
        ['linear.weight'], rtol=0, atol=1e-7)


# --------------------------------------------------------------------- Ctrl-C
def test_ctrl_c_saves_the_current_iteration_and_resume_continues(
        trained, tmp_path):
    work_dir = str(tmp_path / 'interrupted')
    config = tmp_path / 'toy_sigint.py'  # Ctrl-C after iteration 3
    config.write_text(
        f'_base_ = [{TOY_CONFIG!r}]\n'
        "custom_imports = dict(imports=['toy_components', "
        "'tests.test_engine.sigint_hook'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='SigintAtIterHook', at=3)]\n")
    proc = run_tool(['tools/train.py', str(config), '--work-dir', work_dir],
                    check=False)
    saved = osp.join(work_dir, 'iter_3.pth')
    assert proc.returncode == 130
    assert _error_line(proc) == (
        f'error: interrupted (Ctrl-C) after iteration 3 (epoch 1): saved '
        f'{saved}; continue with the same tools/train.py command and '
        '--resume')
    checkpoint = load_checkpoint_file(saved)
    assert checkpoint['meta']['iter'] == 3
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read() == saved
    # the saved state is the one after exactly 3 iterations of the same run
    reference = str(tmp_path / 'reference')
    run_tool(['tools/train.py', TOY_CONFIG, '--work-dir', reference,
              '--cfg-options', 'train_cfg.max_epochs=1',
              'default_hooks.checkpoint.by_epoch=False',
              'default_hooks.checkpoint.interval=3'])
    torch.testing.assert_close(
        checkpoint['state_dict']['linear.weight'],
        load_checkpoint_file(osp.join(reference, 'iter_3.pth'))['state_dict']
        ['linear.weight'], rtol=0, atol=0)
    # --resume picks it up: MMEngine restarts the interrupted epoch with the
    # iteration count at 3, so two more epochs end at iteration 3 + 16
    resumed = run_tool(['tools/train.py', TOY_CONFIG, '--work-dir',
                        work_dir, '--resume'])
    assert 'resumed epoch: 0, iter: 3' in resumed.stdout + resumed.stderr
    final = load_checkpoint_file(osp.join(work_dir, 'epoch_2.pth'))
    assert final['meta']['iter'] == 19 and _all_finite(
        osp.join(work_dir, 'epoch_2.pth'))


def test_resume_with_nothing_to_resume_fails_clearly(tmp_path):
    line = _error_line(run_tool(['tools/train.py', TOY_CONFIG, '--work-dir',
                                 str(tmp_path), '--resume'], check=False))
    assert line == (f"error: --resume: nothing to resume in {str(tmp_path)!r}"
                    ' (no last_checkpoint file there). Drop --resume to train '
                    'from scratch, or give the checkpoint: --resume PATH.')


# ------------------------------------------------------- explicit safety
def test_import_posessl_changes_no_checkpoint_global():
    # torch._dynamo adds its own safe global when first imported (by a
    # dependency), so the dependencies are imported before the snapshot
    script = '''
import torch
import torch._dynamo
import torchvision
import mmengine.runner
from mmengine.runner.checkpoint import CheckpointLoader
before = (dict(CheckpointLoader._schemes),
          list(torch.serialization.get_safe_globals()))
import posessl
after = (dict(CheckpointLoader._schemes),
         list(torch.serialization.get_safe_globals()))
assert before == after, 'import posessl changed a global'
from posessl.engine import enable_checkpoint_safety
enable_checkpoint_safety()
enabled = (dict(CheckpointLoader._schemes),
           list(torch.serialization.get_safe_globals()))
enable_checkpoint_safety()  # idempotent
assert enabled == (dict(CheckpointLoader._schemes),
                   list(torch.serialization.get_safe_globals()))
assert enabled[0][''].__module__ == 'posessl.engine.checkpoint_safety'
print(len(enabled[1]) - len(before[1]))
'''
    proc = subprocess.run([sys.executable, '-c', script], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) > 0  # enabling added the globals
