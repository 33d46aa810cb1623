"""The Runner plumbing end to end through tools/train.py and tools/test.py:
resume reproduces an uninterrupted run, load_from + test reproduces the metric,
unsafe checkpoints are refused, and bad input gets one clear line."""
import os
import os.path as osp

import pytest
import torch

from posessl.engine.checkpoint_safety import load_checkpoint_file

from ._cli import TOY_CONFIG, last_test_metrics, run_tool


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """An uninterrupted 2-epoch run with a checkpoint after each epoch."""
    work_dir = str(tmp_path_factory.mktemp('uninterrupted'))
    run_tool(['tools/train.py', TOY_CONFIG, '--work-dir', work_dir])
    return work_dir


def _weights(checkpoint: str) -> torch.Tensor:
    return load_checkpoint_file(checkpoint)['state_dict']['linear.weight']


def test_resume_matches_uninterrupted_run(trained, tmp_path):
    resumed_dir = str(tmp_path / 'resumed')
    run_tool([
        'tools/train.py', TOY_CONFIG, '--work-dir', resumed_dir, '--resume',
        osp.join(trained, 'epoch_1.pth')
    ])
    # the resumed run trained epoch 2 only, from the epoch-1 state
    assert not osp.exists(osp.join(resumed_dir, 'epoch_1.pth'))
    uninterrupted = _weights(osp.join(trained, 'epoch_2.pth'))
    resumed = _weights(osp.join(resumed_dir, 'epoch_2.pth'))
    epoch1 = _weights(osp.join(trained, 'epoch_1.pth'))
    assert not torch.equal(epoch1, uninterrupted)  # epoch 2 did train
    torch.testing.assert_close(resumed, uninterrupted, rtol=0, atol=1e-7)
    # optimizer momentum and LR schedule were restored too
    a = load_checkpoint_file(osp.join(trained, 'epoch_2.pth'))
    b = load_checkpoint_file(osp.join(resumed_dir, 'epoch_2.pth'))
    assert a['meta']['epoch'] == b['meta']['epoch'] == 2
    for key in ('last_step', '_last_value'):
        assert a['param_schedulers'][0][key] == b['param_schedulers'][0][key]
    assert a['optimizer']['param_groups'][0]['lr'] == pytest.approx(0.025)
    torch.testing.assert_close(
        a['optimizer']['state'][0]['momentum_buffer'],
        b['optimizer']['state'][0]['momentum_buffer'], rtol=0, atol=1e-7)


def test_auto_resume_picks_latest_checkpoint(trained, tmp_path):
    import shutil
    work_dir = str(tmp_path / 'auto')
    shutil.copytree(trained, work_dir)
    os.remove(osp.join(work_dir, 'epoch_2.pth'))
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work_dir, 'epoch_1.pth'))
    run_tool(['tools/train.py', TOY_CONFIG, '--work-dir', work_dir,
              '--resume'])
    torch.testing.assert_close(
        _weights(osp.join(work_dir, 'epoch_2.pth')),
        _weights(osp.join(trained, 'epoch_2.pth')), rtol=0, atol=1e-7)


def test_load_from_and_test_give_the_same_metric(trained, tmp_path):
    checkpoint = osp.join(trained, 'epoch_2.pth')
    work_dir = str(tmp_path / 'test')
    run_tool(['tools/test.py', TOY_CONFIG, checkpoint, '--work-dir', work_dir])
    logged = last_test_metrics(work_dir)['toy/mse']
    # the same number computed directly from the checkpoint's weights
    from tests.fixtures.toy_components import ToyRegressionDataset
    data = ToyRegressionDataset(32)
    w = _weights(checkpoint).flatten()
    expected = float(((data.x @ w - data.y)**2).mean())
    assert logged == pytest.approx(expected, rel=1e-5)
    assert expected < float((data.y**2).mean())  # it learnt something


def test_checkpoint_with_foreign_global_is_refused(tmp_path):
    marker = tmp_path / 'pwned'

    class Payload:

        def __reduce__(self):
            return (os.system, (f'touch {marker}', ))

    evil = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'x': Payload()}, evil)
    proc = run_tool(['tools/test.py', TOY_CONFIG, evil, '--work-dir',
                     str(tmp_path / 'w')], check=False)
    assert proc.returncode != 0
    assert not marker.exists(), 'the pickled payload ran'
    assert 'Traceback' not in proc.stderr
    assert 'refused' in proc.stderr and 'system' in proc.stderr
    assert evil in proc.stderr


@pytest.mark.parametrize('case', [
    'unregistered_type', 'missing_data_root', 'missing_checkpoint',
    'not_a_checkpoint', 'url_checkpoint'
])
def test_bad_input_gets_one_clear_line(case, tmp_path):
    train = ['tools/train.py', TOY_CONFIG, '--work-dir', str(tmp_path)]
    garbage = tmp_path / 'garbage.pth'
    garbage.write_text('not a checkpoint')
    args, expected = {
        'unregistered_type':
        (train + ['--cfg-options', 'model.type=ToyRegresor'],
         "'ToyRegresor' at model is not a registered"),
        'missing_data_root':
        (train + ['--cfg-options', 'train_dataloader.dataset.data_root=/nope'],
         "data root '/nope'"),
        'missing_checkpoint':
        (train + ['--resume', '/nope/epoch_3.pth'], "'/nope/epoch_3.pth' "
         'does not exist'),
        'not_a_checkpoint': (['tools/test.py', TOY_CONFIG, str(garbage)],
                             'is not a PyTorch checkpoint (it starts with'),
        'url_checkpoint': (['tools/test.py', TOY_CONFIG,
                            'https://example.com/x.pth'], 'is a URL'),
    }[case]
    proc = run_tool(args, check=False)
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr, proc.stderr
    error_lines = [ln for ln in proc.stderr.splitlines()
                   if ln.startswith('error:')]
    assert len(error_lines) == 1 and expected in error_lines[0], proc.stderr
    if case == 'unregistered_type':
        assert "Did you mean 'ToyRegressor'" in error_lines[0]
