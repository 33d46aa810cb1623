"""Objects given once: a BOP dataset names its models folder in its
metainfo; the model built with that folder, the metric and the visualiser
given that metainfo hold one ObjectTable, read once per folder, with every
object of the folder (a model trained on some objects is tested on
others)."""
import json
import os
import shutil

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from posessl.registry import DATASETS, METRICS, MODELS
from posessl.structures import ObjectTable, build_object_table
from posessl.visualization import PoseVisualizer


@pytest.fixture
def bop(tmp_path, bop_root):
    """A private copy of the hand-made BOP set (objects 1 and 2)."""
    return shutil.copytree(bop_root, tmp_path / 'bop')


def _dataset(root, **kw):
    return DATASETS.build(dict(
        type='LinemodBOPDataset', data_root=str(root), split='train',
        serialize_data=False, **kw))


def _model(objects, **kw):
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='PoseRegressor', backbone=dict(type='TorchvisionResNet',
                                            depth=18),
        head=dict(type='PoseRegressionHead', hidden_channels=16,
                  decoder=dict(type='SITECodec', depth_ref='crop')),
        objects=objects, **kw))


def test_model_metric_and_visualiser_hold_the_same_table(bop):
    trained_on_one = _dataset(bop, obj_ids=[1])
    tested_on_two = _dataset(bop, obj_ids=[2])
    folder = os.path.realpath(bop / 'models')
    assert trained_on_one.metainfo['models_dir'] == folder
    model = _model(dict(models_dir=str(bop / 'models')))
    table = model.objects
    # every object of the folder, named and flagged by dataset_info.json
    assert table.obj_ids == (1, 2) and table.names == ('box1', 'box2')
    assert table.symmetric_obj_ids == (2, ) and table.models_dir == folder
    metric = METRICS.build(dict(type='ADDMetric'))
    metric.dataset_meta = tested_on_two.metainfo  # as the test loop does
    visualiser = PoseVisualizer.get_instance('objects_given_once')
    visualiser.dataset_meta = tested_on_two.metainfo
    assert metric.objects is table and visualiser.objects is table
    # the points are the datasets' own deterministic sample
    np.testing.assert_array_equal(
        table.object_points(2), tested_on_two.metainfo['model_points'][2])
    # the head's loss points are drawn from that table, both objects
    assert model.head.obj_points.shape[0] == 3  # + the NaN row


def test_the_table_is_read_once_per_folder_until_it_changes(bop):
    a = ObjectTable.from_models_dir(str(bop / 'models'))
    assert ObjectTable.from_models_dir(str(bop / 'models') + '/') is a
    assert build_object_table(dict(models_dir=str(bop / 'models'))) is a
    assert ObjectTable.from_models_dir(str(bop / 'models'), 500) is not a
    info = bop / 'models' / 'models_info.json'
    entries = json.loads(info.read_text())
    entries['1']['diameter'] *= 2
    info.write_text(json.dumps(entries))
    stamp = os.stat(info).st_mtime_ns + 1_000_000
    os.utime(info, ns=(stamp, stamp))  # a rewrite within the clock's tick
    b = ObjectTable.from_models_dir(str(bop / 'models'))
    assert b is not a and b.diameter(1) == 2 * a.diameter(1)


def test_a_model_trained_on_one_object_takes_a_step_on_the_other(bop):
    pipeline = [dict(type='LoadImageAndMask'),
                dict(type='MaskCenteredCrop', out_size=32),
                dict(type='GeneratePoseTarget',
                     codec=dict(type='SITECodec', depth_ref='crop')),
                dict(type='PackPoseInputs')]
    other = _dataset(bop, obj_ids=[2], pipeline=pipeline)
    model = _model(dict(models_dir=str(bop / 'models')))
    data = model.data_preprocessor(
        pseudo_collate([other[i] for i in range(4)]), True)
    losses = model(**data, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad():
        samples = model(**data, mode='predict')
    assert all(torch.isfinite(s.pred_t).all() for s in samples)


def test_the_refiner_takes_the_objects_folder(bop):
    model = _model(dict(models_dir=str(bop / 'models')),
                   refiner=dict(type='SilhouetteDepthRefiner'))
    assert model.refiner.models_dir == os.path.realpath(bop / 'models')
    own = _model(dict(models_dir=str(bop / 'models')),
                 refiner=dict(type='SilhouetteDepthRefiner',
                              models_dir=str(bop)))
    assert own.refiner.models_dir == str(bop)  # a given folder is kept
