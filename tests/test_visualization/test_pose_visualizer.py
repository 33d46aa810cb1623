"""PoseVisualizer and PoseVisualizationHook: the pictures they write hold
exactly the GT (green) and predicted (red) overlays."""
import os

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from scipy.spatial.transform import Rotation
from torch.utils.data import Dataset

from posessl.registry import HOOKS, VISUALIZERS
from posessl.structures import PoseDataSample
from posessl.visualization import (
    GT_COLOR,
    PRED_COLOR,
    PoseVisualizer,
    draw_pose,
    load_rgb,
    save_png,
)

CAM_K = np.array([[60.0, 0.0, 32.0], [0.0, 60.0, 24.0], [0.0, 0.0, 1.0]])
CROP_K = np.array([[120.0, 0.0, 16.0], [0.0, 120.0, 16.0], [0.0, 0.0, 1.0]])
POINTS = np.random.default_rng(0).normal(size=(200, 3)) * [15.0, 10.0, 8.0]


def sample(idx: int = 0, img_path: str = '/nowhere.png') -> PoseDataSample:
    R = Rotation.from_euler('xyz', [20 * idx, 30, -10],
                            degrees=True).as_matrix()
    s = PoseDataSample(metainfo=dict(
        img_path=img_path, obj_id=1, scene_id=2, im_id=idx, cam_K=CAM_K,
        crop_K=CROP_K, ori_shape=(48, 64), img_shape=(32, 32)))
    s.gt_R = torch.tensor(R, dtype=torch.float32)
    s.gt_t = torch.tensor([0.0, 0.0, 300.0])
    s.pred_R = torch.tensor(R @ Rotation.from_euler(
        'z', 25, degrees=True).as_matrix(), dtype=torch.float32)
    s.pred_t = torch.tensor([12.0, 3.0, 310.0])
    return s


def expected(image, s, K):
    """GT in green, then the prediction in red, with the pure function."""
    out = draw_pose(image, POINTS, s.gt_R.numpy(), s.gt_t.numpy(), K,
                    color=GT_COLOR)
    return draw_pose(out, POINTS, s.pred_R.numpy(), s.pred_t.numpy(), K,
                     color=PRED_COLOR)


def background(h=48, w=64):
    return (np.arange(h * w * 3) % 97).reshape(h, w, 3).astype(np.uint8)


@pytest.fixture
def visualizer(request):
    vis = VISUALIZERS.build(dict(type='PoseVisualizer',
                                 name=f'vis_{request.node.name}'))
    vis.dataset_meta = dict(model_points={1: POINTS},
                            diameters={1: 40.0})
    return vis


def test_add_datasample_writes_the_overlay(visualizer, tmp_path):
    s = sample()
    out = tmp_path / 'sub' / 'a.png'
    drawn = visualizer.add_datasample('a', background(), s,
                                      out_file=str(out))
    want = expected(background(), s, CAM_K)
    np.testing.assert_array_equal(drawn, want)
    np.testing.assert_array_equal(load_rgb(str(out)), want)  # PNG lossless
    green = (want == GT_COLOR).all(-1).sum()
    red = (want == PRED_COLOR).all(-1).sum()
    assert green > 20 and red > 20
    # only the prediction, or only the ground truth
    only_gt = visualizer.add_datasample('b', background(), s,
                                        draw_pred=False, out_file=str(out))
    np.testing.assert_array_equal(
        only_gt, draw_pose(background(), POINTS, s.gt_R.numpy(),
                           s.gt_t.numpy(), CAM_K, color=GT_COLOR))
    assert not (only_gt == PRED_COLOR).all(-1).any()


def test_crop_image_uses_crop_camera(visualizer):
    s = sample(1)
    crop = background(32, 32)
    drawn = visualizer.add_datasample('c', crop, s, out_file=os.devnull)
    np.testing.assert_array_equal(drawn, expected(crop, s, CROP_K))


def test_clear_errors(visualizer):
    s = sample()
    with pytest.raises(ValueError, match='matches neither'):
        visualizer.draw_sample(background(10, 10), s)
    s.set_metainfo(dict(obj_id=5))
    with pytest.raises(ValueError, match='no model points for object 5'):
        visualizer.draw_sample(background(), s)
    # explicit model points need no dataset_meta
    drawn = visualizer.draw_sample(background(), s, model_points=POINTS)
    assert (drawn == GT_COLOR).all(-1).any()


def test_objects_come_from_the_object_table(visualizer):
    """The points drawn are the ObjectTable's of the current metainfo (a
    new metainfo replaces the table; float32 points, as datasets give
    them, draw exactly what the pure function draws)."""
    s = sample()
    assert visualizer.objects.obj_ids == (1, )
    other = (POINTS * 1.5).astype(np.float32)
    visualizer.dataset_meta = dict(obj_ids=(1, ), classes=('ape', ),
                                   model_points={1: other},
                                   diameters={1: 40.0})
    np.testing.assert_array_equal(visualizer.objects.object_points(1),
                                  other)
    want = draw_pose(background(), other.astype(np.float64),
                     s.gt_R.numpy(), s.gt_t.numpy(), CAM_K, color=GT_COLOR)
    np.testing.assert_array_equal(
        visualizer.draw_sample(background(), s, draw_pred=False), want)
    visualizer.dataset_meta = dict(model_points={1: POINTS})
    with pytest.raises(ValueError, match="lacks \\['diameters'\\]"):
        visualizer.draw_sample(background(), s)


def test_load_rgb_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.png'):
        load_rgb(str(tmp_path / 'missing.png'))
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not a png')
    with pytest.raises(ValueError, match='bad.png: cannot read'):
        load_rgb(str(bad))


class ImageDataset(Dataset):
    def __init__(self, folder: str, n: int = 5) -> None:
        self.metainfo = dict(obj_ids=(1, ), classes=('ape', ),
                             model_points={1: POINTS}, diameters={1: 40.0},
                             symmetric_obj_ids=())
        self.paths = []
        for i in range(n):
            path = os.path.join(folder, f'{i:06d}.png')
            save_png(path, background())
            self.paths.append(path)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, idx: int) -> dict:
        s = sample(idx, self.paths[idx])
        del s.pred_R, s.pred_t
        return dict(inputs=torch.zeros(3, 4, 4), data_samples=s)


class Predictor(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        for s in data_samples:
            ref = sample(s.im_id)
            s.pred_R, s.pred_t = ref.pred_R, ref.pred_t
        return data_samples


def test_hook_writes_test_pictures(tmp_path):
    dataset = ImageDataset(str(tmp_path / 'images'))
    out_dir = tmp_path / 'vis'
    runner = Runner(
        model=Predictor(), work_dir=str(tmp_path / 'work'),
        experiment_name='pose_vis_hook',
        test_dataloader=dict(
            dataset=dataset, batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='pseudo_collate')),
        test_evaluator=dict(type='ADDMetric'), test_cfg=dict(),
        custom_hooks=[dict(type='PoseVisualizationHook', draw=True,
                           interval=2, test_out_dir=str(out_dir))],
        default_scope='posessl', log_level='WARNING')
    runner.test()
    names = sorted(os.listdir(out_dir))
    assert names == [f'000002_{i:06d}_obj000001.png' for i in (0, 2, 4)]
    for i in (0, 2, 4):
        got = load_rgb(str(out_dir / names[i // 2]))
        np.testing.assert_array_equal(got,
                                      expected(background(), sample(i),
                                               CAM_K))


def test_hook_is_off_by_default_and_validates():
    hook = HOOKS.build(dict(type='PoseVisualizationHook'))
    assert hook.draw is False
    hook.after_test_iter(None, 0, outputs=[sample()])  # no runner needed
    with pytest.raises(ValueError, match='interval'):
        HOOKS.build(dict(type='PoseVisualizationHook', interval=0))


def test_registered_as_visualizer():
    assert VISUALIZERS.get('PoseVisualizer') is PoseVisualizer


def test_hook_sends_validation_pictures_to_runner_backends(tmp_path):
    from types import SimpleNamespace

    from mmengine.visualization import Visualizer
    from mmengine.visualization.vis_backend import BaseVisBackend

    class Recorder(BaseVisBackend):
        def __init__(self) -> None:
            super().__init__(save_dir=str(tmp_path))
            self.images = []

        @property
        def experiment(self):
            return self

        def _init_env(self) -> None:
            pass

        def add_image(self, name, image, step=0, **kwargs) -> None:
            self.images.append((name, image, step))

    recorder = Recorder()
    plain = Visualizer(name='plain_vis_for_hook', vis_backends=[recorder])
    plain.dataset_meta = dict(model_points={1: POINTS}, diameters={1: 40.0})
    runner = SimpleNamespace(visualizer=plain, iter=7)
    path = str(tmp_path / 'frame.png')
    save_png(path, background())
    hook = HOOKS.build(dict(type='PoseVisualizationHook', draw=True,
                            interval=2))
    hook.after_val_iter(runner, 1, outputs=[sample(0, path)])
    assert recorder.images == []  # not an interval-th batch
    hook.after_val_iter(runner, 2, outputs=[sample(0, path),
                                            sample(1, path)])
    assert len(recorder.images) == 1
    name, image, step = recorder.images[0]
    assert name == 'val_000002_000000_obj000001' and step == 7
    np.testing.assert_array_equal(image,
                                  expected(background(), sample(0), CAM_K))
    # a missing image is skipped with a warning, not an error
    hook.after_val_iter(runner, 4, outputs=[sample(0, '/missing.png')])
    assert len(recorder.images) == 1
