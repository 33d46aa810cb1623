"""Config-built pipelines: load -> crop -> pack, and triplet loading."""
import shutil

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from posessl.datasets import TripletDataset, TripletRule
from posessl.datasets.samplers import Triplet
from posessl.geometry import project_points
from posessl.registry import DATASETS
from posessl.structures.pose_data_sample import PoseDataSample

from . import builders

CFG = """
pipeline = [
    dict(type='LoadImageAndMask'),
    dict(type='MaskCenteredCrop', out_size=33, mode='zoom', scale=1.5),
    dict(type='PackPoseInputs'),
]
dataset = dict(type='LinemodBOPDataset', data_root='{root}', split='train',
               obj_ids=[1], pipeline=pipeline)
"""


def test_config_pipeline_gives_hand_computed_sample(bop_root, tmp_path,
                                                    handmade_frames):
    cfg_file = tmp_path / 'data_cfg.py'
    cfg_file.write_text(CFG.format(root=bop_root))
    cfg = Config.fromfile(str(cfg_file))
    ds = DATASETS.build(cfg.dataset)
    assert len(ds) == 24
    out = ds[5]
    frame = handmade_frames[1][5]
    sample = out['data_samples']
    assert isinstance(sample, PoseDataSample)
    assert out['inputs'].shape == (3, 33, 33)
    assert out['inputs'].dtype == torch.uint8
    assert sample.im_id == 5 and sample.obj_id == 1 and sample.has_pose
    # hand-computed window: BOP box [x, y, w, h] of the mask
    x, y, w, h = frame['bbox']
    cx, cy = x + w / 2, y + h / 2
    zoom = 33 / (1.5 * max(w, h))
    assert sample.crop_center == (cx, cy)
    assert sample.zoom == pytest.approx(zoom)
    assert sample.crop_size == pytest.approx(1.5 * max(w, h))
    x0, y0 = cx - 16 / zoom, cy - 16 / zoom
    K = builders.K
    expected_K = np.array([[zoom * K[0, 0], 0, zoom * (K[0, 2] - x0)],
                           [0, zoom * K[1, 1], zoom * (K[1, 2] - y0)],
                           [0, 0, 1]])
    np.testing.assert_allclose(sample.crop_K, expected_K, rtol=1e-12)
    np.testing.assert_allclose(sample.cam_K, K)
    torch.testing.assert_close(sample.gt_R,
                               torch.tensor(frame['R'], dtype=torch.float32))
    torch.testing.assert_close(sample.gt_t,
                               torch.tensor(frame['t'], dtype=torch.float32))
    # the model projected with crop_K covers the object's pixels in the crop
    pts = builders.box_mesh(1).vertices
    uv = project_points(pts, frame['R'], frame['t'], sample.crop_K.numpy())
    # object: red 200 on a background below 60; edge pixels are blends, so
    # call a pixel object where it is more than half red
    red = out['inputs'][0].numpy().astype(float)
    v, u = np.nonzero(red > 130)
    assert abs(u.min() - uv[:, 0].min()) < 1.0
    assert abs(u.max() - uv[:, 0].max()) < 1.0
    assert abs(v.min() - uv[:, 1].min()) < 1.0
    assert abs(v.max() - uv[:, 1].max()) < 1.0
    # the object centre sits at the crop centre (16, 16)
    assert abs((u.min() + u.max()) / 2 - 16) <= 1.0


def _triplet_loader(root, **sampler):
    init_default_scope('posessl')
    return Runner.build_dataloader(
        dict(batch_size=4, num_workers=0,
             sampler=dict(type='TripletSampler', shuffle=True, **sampler),
             dataset=dict(
                 type='TripletDataset',
                 dataset=dict(
                     type='LinemodBOPDataset', data_root=str(root),
                     split='train',
                     pipeline=[dict(type='LoadImageAndMask'),
                               dict(type='MaskCenteredCrop', out_size=16),
                               dict(type='PackPoseInputs')]))),
        seed=0)


def test_triplet_batches_through_runner_dataloader(bop_root):
    loader = _triplet_loader(bop_root, pos_range=(1, 3),
                             neg_min_distance=10)
    assert isinstance(loader.dataset, TripletDataset)
    assert len(loader.dataset) == 48
    assert loader.dataset.metainfo['obj_ids'] == (1, 2)
    seen = 0
    for batch in loader:
        for inputs, sample in zip(batch['inputs'], batch['data_samples']):
            assert inputs.shape == (3, 3, 16, 16)
            assert 1 <= sample.positive_frame_distance <= 3
            assert sample.negative_frame_distance >= 10
            seen += 1
    assert seen == 48
    # the rule travels with the indices; the sampler leaves the dataset be
    triplet = next(iter(loader.sampler))
    assert triplet.rule.neg_min_distance == 10
    assert not hasattr(loader.dataset, 'triplet_rule')


def test_triplet_dataset_replaces_a_dropped_member(bop_root, tmp_path):
    root = shutil.copytree(bop_root, tmp_path / 'bop')
    (root / 'train' / '000001' / 'rgb' / '000005.png').write_bytes(b'bad')
    ds = TripletDataset(dataset=dict(
        type='LinemodBOPDataset', data_root=str(root), split='train',
        obj_ids=[1], serialize_data=False,
        pipeline=[dict(type='LoadImageAndMask'),
                  dict(type='MaskCenteredCrop', out_size=8),
                  dict(type='PackPoseInputs')]))
    im = {ds.get_data_info(i)['im_id']: i for i in range(len(ds))}
    plain = {i: ds.dataset[im[i]]['inputs'] for i in (3, 4, 7, 8, 9)}
    np.random.seed(0)
    used = set()
    for _ in range(10):
        out = ds[(im[6], im[5], im[20])]  # the positive is unreadable
        sample = out['data_samples']
        assert sample.im_id == 6
        assert 1 <= sample.positive_frame_distance <= 3
        assert sample.negative_frame_distance == 14
        # the replacement is one of the valid frames 1..3 away
        match = [i for i, x in plain.items()
                 if torch.equal(x, out['inputs'][1])]
        assert len(match) == 1
        assert abs(match[0] - 6) == sample.positive_frame_distance
        used.add(match[0])
    assert len(used) > 1
    # a dropped negative is redrawn by the index's rule (10-12 frames
    # away), not by the default one (20 or more)
    rule = TripletRule(neg_min_distance=10, neg_max_distance=12)
    for _ in range(10):
        sample = ds[Triplet(im[15], im[14], im[5], rule)]['data_samples']
        assert 10 <= sample.negative_frame_distance <= 12
    with pytest.raises(TypeError, match='TripletSampler'):
        ds[3]


def test_triplet_anchor_pixels_match_plain_dataset(bop_root):
    """The stacked anchor is exactly what the wrapped dataset gives."""
    ds = TripletDataset(dataset=dict(
        type='LinemodBOPDataset', data_root=str(bop_root), split='train',
        obj_ids=[2], pipeline=[dict(type='LoadImageAndMask'),
                               dict(type='MaskCenteredCrop', out_size=8),
                               dict(type='PackPoseInputs')]))
    out = ds[(3, 4, 23)]
    for k, idx in enumerate((3, 4, 23)):
        torch.testing.assert_close(out['inputs'][k],
                                   ds.dataset[idx]['inputs'])
    assert out['data_samples'].positive_frame_distance == 1
    assert out['data_samples'].negative_frame_distance == 20
