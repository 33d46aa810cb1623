"""The pose model's entry points outside training (``PoseInferencer``,
``tools/infer.py``, ``tools/visualize_pose.py``, ``tools/pseudo_label.py``,
``tools/test.py``) refuse a checkpoint that does not fit before doing any
work: the self-supervised checkpoint, a pose checkpoint with one head tensor
of another shape, and one with non-finite weights. ``load_partial = True``
stays the way to load part of a model on purpose."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from posessl.apis import PoseInferencer
from posessl.engine import CheckpointError
from posessl.registry import MODELS
from tests.test_datasets import builders
from tests.test_engine._cli import load_tool, run_tool

from .tiny_pose import BASE, CROP, REPO

SSL_CONFIG = REPO / 'configs' / 'ssl' / 'ssl_r18_1xb32-5e_synthetic.py'


def _build(model_cfg) -> torch.nn.Module:
    with DefaultScope.overwrite_default_scope('posessl'):
        torch.manual_seed(0)
        return MODELS.build(copy.deepcopy(model_cfg.to_dict()))


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """A hand-made BOP set (train and test splits), a 32 px pose config on
    it, and checkpoints: a fitting one, the self-supervised pretrainer's,
    one with a wider rotation output, and one with a NaN bias."""
    out = tmp_path_factory.mktemp('checkpoint_fit')
    frames = builders.make_frames([1, 2], 4)
    for split in ('train', 'test'):
        root = builders.write_bop(out / 'data', frames, split=split)
    cfg = Config.fromfile(str(BASE))
    options = {}
    for name in ('train', 'test'):
        pipeline = copy.deepcopy(cfg[f'{name}_dataloader'].dataset.pipeline)
        for t in pipeline:
            if t['type'] == 'MaskCenteredCrop':
                t['out_size'] = CROP
        options[f'{name}_dataloader.dataset.pipeline'] = pipeline
        options[f'{name}_dataloader.dataset.data_root'] = str(root)
    options['train_dataloader.dataset.label_fraction'] = 0.5
    options['model.objects.models_dir'] = str(root / 'models')
    cfg.merge_from_dict(options)
    config = str(out / 'tiny_pose.py')
    cfg.dump(config)
    pose = _build(cfg.model).state_dict()
    ssl = _build(Config.fromfile(str(SSL_CONFIG)).model).state_dict()
    wide = dict(pose)
    rows, cols = pose['head.rot_out.weight'].shape
    wide['head.rot_out.weight'] = torch.zeros(rows + 3, cols)
    nan = dict(pose)
    nan['head.fc.0.bias'] = pose['head.fc.0.bias'].clone()
    nan['head.fc.0.bias'][:2] = float('nan')
    ckpts = {}
    for name, state in dict(pose=pose, ssl=ssl, wide=wide, nan=nan).items():
        ckpts[name] = str(out / f'{name}.pth')
        torch.save(dict(state_dict=state), ckpts[name])
    return dict(cfg=cfg, config=config, ckpts=ckpts, out=out,
                shape=(rows, cols), ssl_state=ssl)


def expected(setup, kind: str) -> str:
    """The start of the refusal of checkpoint ``kind``."""
    path = setup['ckpts'][kind]
    rows, cols = setup['shape']
    return {
        'ssl': f'checkpoint {path!r} is a self-supervised pretraining '
               'checkpoint (backbone and projection neck, no pose head',
        'wide': f'checkpoint {path!r} does not fit the model: '
                f'head.rot_out.weight is ({rows + 3}, {cols}) in the '
                f'checkpoint and ({rows}, {cols}) in the model',
        'nan': f'checkpoint {path!r} holds weights that are not finite: '
               'head.fc.0.bias has 2 NaN/inf values',
    }[kind]


@pytest.mark.parametrize('kind', ['ssl', 'wide', 'nan'])
def test_the_inferencer_refuses_a_checkpoint_that_does_not_fit(setup, kind):
    with pytest.raises(CheckpointError) as err:
        PoseInferencer(setup['cfg'], setup['ckpts'][kind], device='cpu')
    assert str(err.value).startswith(expected(setup, kind))
    assert '\n' not in str(err.value)


def test_load_partial_loads_the_pretrained_backbone_on_purpose(setup):
    inferencer = PoseInferencer(setup['cfg'], setup['ckpts']['ssl'],
                                device='cpu',
                                cfg_options=dict(load_partial=True))
    state = inferencer.model.state_dict()
    for key in ('backbone.conv1.weight', 'backbone.layer4.1.bn2.bias'):
        torch.testing.assert_close(state[key], setup['ssl_state'][key],
                                   rtol=0, atol=0)
    # never non-finite weights, not even on purpose
    with pytest.raises(CheckpointError, match='not finite'):
        PoseInferencer(setup['cfg'], setup['ckpts']['nan'], device='cpu',
                       cfg_options=dict(load_partial=True))


def _exit_line(tool: str, argv: list) -> str:
    with pytest.raises(SystemExit) as err:
        load_tool(f'tools/{tool}.py').main(argv)
    assert isinstance(err.value.code, str) and '\n' not in err.value.code
    return err.value.code


def test_visualize_pose_draws_nothing_with_the_ssl_checkpoint(setup):
    out_dir = setup['out'] / 'vis'
    line = _exit_line('visualize_pose', [
        setup['config'], setup['ckpts']['ssl'], '--out-dir', str(out_dir),
        '--device', 'cpu'])
    assert line.startswith('error: ' + expected(setup, 'ssl'))
    assert not out_dir.exists()


def test_infer_refuses_a_head_of_another_shape(setup):
    image = osp.join(setup['cfg'].test_dataloader.dataset.data_root, 'test',
                     '000001', 'rgb', '000000.png')
    mask = image.replace('rgb', 'mask_visib').replace('.png', '_000000.png')
    line = _exit_line('infer', [
        setup['config'], setup['ckpts']['wide'], image, '--obj-id', '1',
        '--mask', mask, '--cam-k'] + ['100', '0', '32', '0', '100', '24',
                                      '0', '0', '1'] + ['--device', 'cpu'])
    assert line.startswith('error: ' + expected(setup, 'wide'))


def test_pseudo_label_writes_nothing_with_non_finite_weights(setup):
    out = setup['out'] / 'pseudo.json'
    line = _exit_line('pseudo_label', [
        setup['config'], setup['ckpts']['nan'], '--out', str(out),
        '--device', 'cpu'])
    assert line.startswith('error: ' + expected(setup, 'nan'))
    assert not out.exists()


def test_tools_test_refuses_a_head_of_another_shape(setup):
    work_dir = setup['out'] / 'test_wide'
    proc = run_tool(['tools/test.py', setup['config'],
                     setup['ckpts']['wide'], '--work-dir', str(work_dir)],
                    check=False)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines()
              if ln.startswith('error:')]
    assert len(errors) == 1
    assert errors[0].startswith('error: ' + expected(setup, 'wide'))
    assert 'ADD' not in proc.stdout  # nothing was scored
