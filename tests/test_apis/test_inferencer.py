"""PoseInferencer against the Runner on the session's synthetic set: the
same frames and checkpoint give the same poses through the config's test
pipeline, from paths, arrays, masks, boxes or a detections file; bad inputs
stop with one line naming the problem."""
import copy
import json

import numpy as np
import pytest
import torch
from mmengine.runner import Runner
from PIL import Image

from posessl.apis import InferenceError, PoseInferencer
from posessl.engine.checkpoint_safety import CheckpointError
from posessl.visualization import PRED_COLOR, draw_pose

from .tiny_pose import (
    frame_infos,
    tiny_checkpoint,
    tiny_config,
    write_detections,
)


@pytest.fixture(scope='module')
def tiny(synthetic_root, tmp_path_factory):
    out = tmp_path_factory.mktemp('tiny_pose')
    cfg = tiny_config(synthetic_root)
    ckpt, meta = tiny_checkpoint(cfg, out)
    # built first: it enables checkpoint safety, which the Runner needs too
    inferencer = PoseInferencer(cfg, ckpt, device='cpu')
    return dict(cfg=cfg, ckpt=ckpt, meta=meta, out=out,
                infos=frame_infos(cfg), inferencer=inferencer,
                root=synthetic_root)


def _query(info: dict) -> dict:
    """What a user passes for one test frame."""
    return dict(image=info['img_path'], obj_id=int(info['obj_id']),
                cam_K=info['cam_K'], mask=info['mask_path'])


def _runner_poses(cfg, ckpt: str, work_dir) -> dict:
    """``{(img_path, obj_id): (R, t)}`` from the Runner's own test loader
    and ``test_step``."""
    cfg = cfg.copy()
    cfg.work_dir = str(work_dir)
    runner = Runner.from_cfg(cfg)
    runner.load_checkpoint(ckpt)
    runner.model.eval()
    poses = {}
    with torch.no_grad():
        for batch in runner.test_dataloader:
            for s in runner.model.test_step(batch):
                key = (s.img_path, int(s.obj_id))
                poses[key] = (s.pred_R.numpy(), s.pred_t.numpy())
    return poses


def _assert_same_poses(preds, infos, reference) -> None:
    assert len(preds) == len(infos) == len(reference)
    for pred, info in zip(preds, infos):
        R, t = reference[info['img_path'], int(info['obj_id'])]
        np.testing.assert_array_equal(pred.R, R)
        np.testing.assert_array_equal(pred.t, t)
        assert pred.score is None and pred.obj_id == int(info['obj_id'])


def test_poses_equal_the_runners_test_step(tiny, tmp_path):
    infos = tiny['infos']
    preds = tiny['inferencer'].infer([_query(i) for i in infos])
    _assert_same_poses(preds, infos,
                       _runner_poses(tiny['cfg'], tiny['ckpt'], tmp_path))
    # every frame has a pose of its own, so equality says something
    Rs = np.stack([p.R for p in preds])
    assert np.abs(Rs - Rs[0]).max(axis=(1, 2))[1:].min() > 1e-2
    assert len({round(float(p.t[2]), 3) for p in preds}) == len(preds)
    assert all(p.img_path == i['img_path'] for p, i in zip(preds, infos))


def test_arrays_and_a_camera_file_give_the_same_pose(tiny):
    info = tiny['infos'][4]
    inferencer = tiny['inferencer']
    by_path = inferencer(**_query(info))
    image = np.asarray(Image.open(info['img_path']).convert('RGB'))
    mask = np.asarray(Image.open(info['mask_path'])) > 127
    scene = tiny['root'] / 'test' / f"{int(info['scene_id']):06d}"
    cams = json.loads((scene / 'scene_camera.json').read_text())
    K = np.array(cams[str(int(info['im_id']))]['cam_K']).reshape(3, 3)
    by_array = inferencer(image, int(info['obj_id']), K, mask=mask)
    np.testing.assert_array_equal(by_array.R, by_path.R)
    np.testing.assert_array_equal(by_array.t, by_path.t)
    assert by_array.img_path is None and by_array.overlay is None
    # one image alone equals the same image inside a batch of eight
    batch = inferencer.infer([_query(i) for i in tiny['infos'][:8]])
    np.testing.assert_allclose(batch[4].R, by_path.R, rtol=0, atol=1e-6)
    np.testing.assert_allclose(batch[4].t, by_path.t, rtol=1e-6)


def test_visualize_draws_the_predicted_pose_on_the_image(tiny):
    info = tiny['infos'][0]
    pred = tiny['inferencer'](**_query(info), visualize=True)
    image = np.asarray(Image.open(info['img_path']).convert('RGB'))
    points = tiny['meta']['model_points'][int(info['obj_id'])]
    expected = draw_pose(image, points, pred.R, pred.t, info['cam_K'],
                         color=PRED_COLOR)
    np.testing.assert_array_equal(pred.overlay, expected)
    drawn = (pred.overlay != image).any(-1)
    assert drawn.sum() > 50
    assert (pred.overlay[drawn] == PRED_COLOR).all()


def test_boxes_and_detections_equal_the_runner_on_a_box_config(
        tiny, tmp_path):
    infos = tiny['infos']
    detections = write_detections(tmp_path / 'dets.json', infos)
    cfg = tiny_config(tiny['root'], detections=detections)
    inferencer = PoseInferencer(cfg, tiny['ckpt'], device='cpu')
    reference = _runner_poses(cfg, tiny['ckpt'], tmp_path / 'work')
    base = [dict(image=i['img_path'], obj_id=int(i['obj_id']),
                 cam_K=i['cam_K']) for i in infos]
    by_det = inferencer.infer([
        dict(q, detections=str(detections), scene_id=int(i['scene_id']),
             im_id=int(i['im_id'])) for q, i in zip(base, infos)])
    _assert_same_poses(by_det, infos, reference)
    by_box = inferencer.infer([dict(q, box=list(i['bbox']))
                               for q, i in zip(base, infos)])
    _assert_same_poses(by_box, infos, reference)


def test_a_bare_state_dict_takes_every_object_of_the_model(tiny):
    bare, _ = tiny_checkpoint(tiny['cfg'], tiny['out'], with_meta=False)
    inferencer = PoseInferencer(tiny['cfg'], bare, device='cpu')
    assert inferencer.objects is inferencer.model.objects
    assert inferencer.obj_ids == inferencer.objects.obj_ids == tuple(
        tiny['meta']['obj_ids'])  # the set's folder holds these objects
    info = tiny['infos'][0]
    a, b = inferencer(**_query(info)), tiny['inferencer'](**_query(info))
    np.testing.assert_array_equal(a.R, b.R)


def _bad_cases(info: dict) -> list:
    q = _query(info)
    h, w = 480, 640
    return [
        (dict(q, obj_id=99), 'obj_id 99 is not one of the model'),
        (dict(q, mask=np.zeros((h, w), bool)), 'empty mask'),
        (dict(q, mask=None, box=[700.0, 10.0, 20.0, 20.0]),
         'lies outside the 640x480 image'),
        (dict(q, image='/nonexistent/frame.png'),
         '/nonexistent/frame.png: file not found'),
        (dict(q, mask=None, box=[100.0, 100.0, 50.0, 40.0]),
         'needs the object mask'),
        (dict(q, mask=np.ones((h // 2, w), bool)),
         'mask is 640x240, the image 640x480'),
        (dict(q, cam_K=np.eye(2)), 'cam_K must be a finite 3x3'),
        (dict(q, mask=None, detections='/x/dets.json'),
         'needs scene_id and im_id'),
        (dict(q, box=[1, 2, 3, 4]), 'give one of mask, box or detections'),
    ]


@pytest.mark.parametrize('case', range(9))
def test_bad_input_stops_with_one_line_naming_it(tiny, case):
    query, expected = _bad_cases(tiny['infos'][0])[case]
    good = _query(tiny['infos'][1])
    with pytest.raises(InferenceError) as err:
        tiny['inferencer'].infer([good, query])  # checked before any run
    message = str(err.value)
    assert expected in message and '\n' not in message


def test_missing_checkpoint_and_config_name_the_file(tiny, tmp_path):
    with pytest.raises(CheckpointError, match='missing.pth'):
        PoseInferencer(tiny['cfg'], str(tmp_path / 'missing.pth'))
    with pytest.raises(InferenceError, match='nope.py: config file not'):
        PoseInferencer(str(tmp_path / 'nope.py'), tiny['ckpt'])


def test_a_model_without_objects_stops_with_one_line(tiny):
    cfg = copy.deepcopy(tiny['cfg'])
    del cfg.model['objects']
    with pytest.raises(InferenceError) as err:
        PoseInferencer(cfg, tiny['ckpt'], device='cpu')
    assert str(err.value).endswith(
        'the model has no objects; set model.objects=dict(models_dir=<BOP '
        'models folder>)')
