"""Every kind of bad input fails with a message naming the file."""
import json
import os
import shutil

import cv2
import numpy as np
import pytest
import yaml

from posessl.datasets import DataError
from posessl.registry import DATASETS
from tests.test_engine._cli import load_tool

from . import builders

ERRORS = (DataError, FileNotFoundError, ValueError)


@pytest.fixture
def bop(tmp_path, bop_root):
    """A private copy of the hand-made BOP set, free to break."""
    return shutil.copytree(bop_root, tmp_path / 'bop')


@pytest.fixture
def df(tmp_path, df_root):
    """A private copy of the hand-made DenseFusion set."""
    return shutil.copytree(df_root, tmp_path / 'df')


def _bop(root, **kw):
    cfg = dict(type='LinemodBOPDataset', data_root=str(root), split='train',
               serialize_data=False)
    cfg.update(kw)
    return DATASETS.build(cfg)


def _df(root, **kw):
    return DATASETS.build(dict(type='LinemodDenseFusionDataset',
                               data_root=str(root), serialize_data=False,
                               **kw))


def _raises(fn, path, message):
    """``fn()`` raises; the message names ``path`` and says ``message``."""
    with pytest.raises(ERRORS) as info:
        fn()
    text = str(info.value)
    assert str(path) in text, text
    assert message in text, text
    return text


def _edit_json(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def test_missing_data_root(tmp_path):
    _raises(lambda: _bop(tmp_path / 'nowhere'), tmp_path / 'nowhere',
            'dataset root not found')


def test_missing_split_folder(bop):
    _raises(lambda: _bop(bop, split='val'), bop / 'val',
            'split folder not found')


def test_missing_image(bop):
    path = bop / 'train' / '000001' / 'rgb' / '000005.png'
    os.remove(path)
    _raises(lambda: _bop(bop), path, 'image not found')


def test_missing_mask(bop):
    path = bop / 'train' / '000002' / 'mask_visib' / '000007_000000.png'
    os.remove(path)
    _raises(lambda: _bop(bop), path, 'mask not found')


def test_object_absent_from_ground_truth(bop):
    builders.box_mesh(3).export(str(bop / 'models' / 'obj_000003.ply'))
    _edit_json(bop / 'models' / 'models_info.json',
               lambda d: d.update({'3': dict(diameter=80.0)}))
    text = _raises(lambda: _bop(bop, obj_ids=[3]),
                   bop / 'train' / '000001' / 'scene_gt.json',
                   'object 3 does not appear in the ground truth')
    assert 'train/000002/scene_gt.json' in text
    _raises(lambda: _bop(bop, obj_ids=[7]),
            bop / 'models' / 'models_info.json', 'no entry for object 7')


def test_split_file_naming_missing_frames(bop, tmp_path):
    split = tmp_path / 'split.txt'
    split.write_text('3\n99\n100\n')
    _raises(lambda: _bop(bop, obj_ids=[1], split_file=str(split)), split,
            'names frames that do not exist for object 1: 99, 100')
    split.write_text('3\nframe_four\n')
    _raises(lambda: _bop(bop, obj_ids=[1], split_file=str(split)), split,
            "line 2 is not a frame id: 'frame_four'")
    _raises(lambda: _bop(bop, split_file=str(tmp_path / 'none.txt')),
            tmp_path / 'none.txt', 'split file not found')


def test_diameter_in_metres(bop):
    info = bop / 'models' / 'models_info.json'
    _edit_json(info, lambda d: d['1'].update(diameter=0.0781))
    _raises(lambda: _bop(bop), info,
            'diameter of object 1 is 0.0781, which looks like metres')


def test_model_in_metres(bop):
    path = bop / 'models' / 'obj_000001.ply'
    mesh = builders.box_mesh(1)
    mesh.apply_scale(0.001)
    mesh.export(str(path))
    _raises(lambda: _bop(bop), path, 'which looks like metres')


def test_translations_in_metres(bop):
    gt = bop / 'train' / '000001' / 'scene_gt.json'

    def to_metres(data):
        for anns in data.values():
            anns[0]['cam_t_m2c'] = [v / 1000 for v in anns[0]['cam_t_m2c']]

    _edit_json(gt, to_metres)
    _raises(lambda: _bop(bop), gt, 'median object depth is 0.6')


def test_broken_json_and_pose(bop):
    gt = bop / 'train' / '000002' / 'scene_gt.json'
    gt.write_text('{"0": [')
    _raises(lambda: _bop(bop), gt, 'not valid JSON')
    gt = bop / 'train' / '000001' / 'scene_gt.json'
    _edit_json(gt, lambda d: d['4'][0].update(cam_R_m2c=[1, 0, 0, 0, 1, 0]))
    _raises(lambda: _bop(bop, obj_ids=[1]), gt,
            'frame 4, annotation 0: cam_R_m2c must have 9')
    _edit_json(gt, lambda d: d['4'][0].update(cam_R_m2c=[2, 0, 0, 0, 1, 0,
                                                          0, 0, 1]))
    _raises(lambda: _bop(bop, obj_ids=[1]), gt, 'is not a rotation')


def _pipeline():
    return [dict(type='LoadImageAndMask'),
            dict(type='MaskCenteredCrop', out_size=16),
            dict(type='PackPoseInputs')]


def test_unreadable_image_and_empty_mask_while_training(bop):
    """Training: a counted, logged skip and a redraw; testing: an error."""
    bad_img = bop / 'train' / '000001' / 'rgb' / '000003.png'
    bad_img.write_bytes(b'\x89PNG broken')
    empty = bop / 'train' / '000001' / 'mask_visib' / '000004_000000.png'
    cv2.imwrite(str(empty), np.zeros((builders.HEIGHT, builders.WIDTH),
                                     np.uint8))
    ds = _bop(bop, obj_ids=[1], pipeline=_pipeline())
    idx = {ds.get_data_info(i)['im_id']: i for i in range(len(ds))}
    np.random.seed(0)
    for im_id in (3, 4):
        out = ds[idx[im_id]]  # redrawn: another, valid frame
        assert out['data_samples'].im_id not in (3, 4)
    load = ds.pipeline.transforms[0]
    assert load.num_skipped >= 2
    test = _bop(bop, obj_ids=[1], pipeline=_pipeline(), test_mode=True)
    _raises(lambda: test[idx[3]], bad_img, 'dropped this test sample')
    strict = [dict(type='LoadImageAndMask', skip_bad=False)]
    test = _bop(bop, obj_ids=[1], pipeline=strict, test_mode=True)
    _raises(lambda: test[idx[3]], bad_img, 'not a readable image')
    _raises(lambda: test[idx[4]], empty, 'empty mask')


def test_skipped_partners_of_a_triplet_reach_the_anchor_sample(bop):
    """A skipped positive's or negative's reason rides on whichever crop
    was read next; the triplet hands them all on with the anchor's sample,
    so every skip of a pretraining batch is counted."""
    from posessl.datasets import TripletDataset
    from posessl.datasets.samplers.triplet_sampler import Triplet
    from posessl.datasets.sequences import TripletRule

    bad_img = bop / 'train' / '000001' / 'rgb' / '000003.png'
    bad_img.write_bytes(b'\x89PNG broken')
    ds = _bop(bop, obj_ids=[1], pipeline=_pipeline())
    triplets = TripletDataset(dataset=ds)
    idx = {ds.get_data_info(i)['im_id']: i for i in range(len(ds))}
    load = ds.pipeline.transforms[0]
    np.random.seed(0)
    carried = []
    rule = TripletRule(pos_range=(1, 1), neg_min_distance=2)  # short set
    for anchor, partner in ((2, 3), (4, 3), (3, 2)):  # partners, anchor
        out = triplets[Triplet(idx[anchor], idx[partner], idx[partner],
                               rule)]
        carried += out['data_samples'].metainfo.get('skipped_samples', ())
    assert load.num_skipped >= 3
    assert len(carried) == load.num_skipped
    assert all(r.startswith(f'{bad_img}: ') for r in carried)


def test_skipped_samples_travel_with_the_data_to_the_message_hub(bop):
    """The sample that replaces skipped ones carries their reasons in its
    metainfo (from whichever loader process read it); SkippedSamplesHook
    totals them in the runner's message hub, and the training tool ends
    with one line from there."""
    import logging
    from types import SimpleNamespace

    from mmengine.dataset import pseudo_collate
    from mmengine.logging import MessageHub

    from posessl.engine.hooks import SkippedSamplesHook

    bad_img = bop / 'train' / '000001' / 'rgb' / '000003.png'
    bad_img.write_bytes(b'\x89PNG broken')
    ds = _bop(bop, obj_ids=[1], pipeline=_pipeline())
    idx = {ds.get_data_info(i)['im_id']: i for i in range(len(ds))}
    np.random.seed(0)
    batch = pseudo_collate([ds[idx[3]] for _ in range(3)])
    carried = [s.metainfo.get('skipped_samples', ())
               for s in batch['data_samples']]
    reasons = [r for c in carried for r in c]
    # every skip (at least one per call: a redraw may land on the bad
    # frame again) is carried once, by the sample that replaced it
    assert all(len(c) >= 1 for c in carried)
    assert len(reasons) == ds.pipeline.transforms[0].num_skipped
    assert all(r.startswith(f'{bad_img}: ') for r in reasons)
    assert 'skipped_samples' not in ds[idx[5]]['data_samples']  # a good one

    hub = MessageHub.get_instance('skipped_samples_test')
    messages = []
    logger = logging.getLogger('skip-report-test')
    logger.warning = messages.append
    runner = SimpleNamespace(message_hub=hub, logger=logger)
    hook = SkippedSamplesHook()
    hook.after_train_iter(runner, 0, data_batch=batch)
    hook.after_train_iter(runner, 1, data_batch=batch)  # it sums
    total = 2 * len(reasons)
    assert hub.get_info('skipped_samples') == total
    assert hub.get_info('skipped_reasons') == (reasons * 2)[:3]
    load_tool('tools/train.py').report_skipped(runner)
    assert messages == [
        f'{total} training samples were skipped as unreadable (each named '
        f"in a warning of the log): {'; '.join((reasons * 2)[:3])}; ..."]
    messages.clear()
    runner.message_hub = MessageHub.get_instance('nothing_skipped_test')
    load_tool('tools/train.py').report_skipped(runner)
    assert messages == []  # nothing skipped: nothing said


def test_densefusion_bad_inputs(df):
    gt_path = df / 'data' / '01' / 'gt.yml'
    gt = yaml.safe_load(gt_path.read_text())
    gt[3][0]['obj_id'] = 2
    gt_path.write_text(yaml.safe_dump(gt))
    _raises(lambda: _df(df, split='all', obj_ids=[1]), gt_path,
            'frame 3 has no annotation of object 1')
    os.remove(df / 'data' / '02' / 'train.txt')
    _raises(lambda: _df(df, split='train', obj_ids=[2]),
            df / 'data' / '02' / 'train.txt', 'split file not found')
    mask = df / 'data' / '02' / 'mask' / '0006.png'
    os.remove(mask)
    _raises(lambda: _df(df, split='all', obj_ids=[2]), mask,
            'mask not found')
    info_path = df / 'data' / '02' / 'info.yml'
    info = yaml.safe_load(info_path.read_text())
    del info[5]
    info_path.write_text(yaml.safe_dump(info))
    _raises(lambda: _df(df, split='all', obj_ids=[2]), info_path,
            'no camera for frame 5')
    models = df / 'models' / 'models_info.yml'
    models.write_text('1: {diameter: 0.072}\n2: {diameter: 70}\n')
    _raises(lambda: _df(df, split='all'), models, 'looks like metres')
    models.write_text('1: [unclosed\n')
    _raises(lambda: _df(df, split='all'), models, 'not valid YAML')


def test_missing_or_broken_model(bop):
    path = bop / 'models' / 'obj_000002.ply'
    path.write_text('ply\nformat ascii 1.0\nelement vertex 3\nend_header\n1')
    _raises(lambda: _bop(bop), path, 'cannot read the model')
    os.remove(path)
    _raises(lambda: _bop(bop), path, 'model file not found')


@pytest.mark.parametrize('settings, message', [
    (dict(out_size=0), 'out_size must be positive, got 0'),
    (dict(out_size=-8), 'out_size must be positive, got -8'),
    (dict(out_size=32.5), 'out_size must be a whole number of pixels, got '
     '32.5'),
    (dict(crop_size=0.0), 'crop_size must be positive, got 0.0'),
    (dict(scale=-1.5), 'scale must be positive, got -1.5'),
    (dict(scale=float('nan')), 'scale must be positive, got nan'),
    (dict(center_jitter=-0.1), 'center_jitter must be >= 0, got -0.1'),
    (dict(scale_jitter=1.0), r'scale_jitter must be in \[0, 1\), got 1.0'),
])
def test_crop_settings_name_the_bad_key(settings, message):
    from posessl.registry import TRANSFORMS
    with pytest.raises(ValueError, match=f'^MaskCenteredCrop: {message}$'):
        TRANSFORMS.build(dict(type='MaskCenteredCrop', **settings))
