"""Every entry point trusts only a checkpoint that fits (names, shapes,
finite values): by the exit status, the line and the files on disk."""
import os
import subprocess

import pytest
import torch

from posessl.engine import CheckpointError, check_checkpoint_fits

from ._cli import TOY_CONFIG, run_tool


def _error_line(proc: subprocess.CompletedProcess) -> str:
    """The one ``error:`` line of a failed tool run (and no traceback)."""
    assert proc.returncode == 1, proc.stderr
    assert 'Traceback' not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith('error:')]
    assert len(lines) == 1, proc.stderr
    return lines[0]


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
