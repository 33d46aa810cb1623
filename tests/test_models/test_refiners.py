"""SilhouetteDepthRefiner: the depth recovered from the mask's area on a
generated set (whose masks are the renderer's exact coverage), the poses it
must leave alone, and its errors."""
import numpy as np
import pytest
import torch

from posessl.registry import DATASETS, MODELS
from posessl.structures.io import DataError

PIPELINE = [
    dict(type='LoadImageAndMask'),
    dict(type='MaskCenteredCrop', mode='zoom', out_size=32, scale=1.4),
    dict(type='PackPoseInputs'),
]


@pytest.fixture(scope='module')
def test_frames(synthetic_root):
    """Packed test frames of the generated set (exact masks, true poses)."""
    ds = DATASETS.build(dict(type='LinemodBOPDataset',
                             data_root=str(synthetic_root), split='test',
                             test_mode=True, pipeline=PIPELINE))
    picks = np.linspace(0, len(ds) - 1, 6).round().astype(int)
    return [ds[int(i)]['data_samples'] for i in picks]


def _refiner(root, **kw):
    return MODELS.build(dict(type='SilhouetteDepthRefiner',
                             models_dir=str(root / 'models'), **kw))


def _with_prediction(sample, R, t):
    sample = sample.clone()
    sample.pred_R = torch.as_tensor(R, dtype=torch.float32)
    sample.pred_t = torch.as_tensor(t, dtype=torch.float32)
    return sample


def test_true_pose_silhouette_has_the_mask_area(synthetic_root,
                                                test_frames):
    refiner = _refiner(synthetic_root, supersample=4)
    for s in test_frames:
        area, _ = refiner.silhouette_stats(
            int(s.obj_id), s.gt_R.double().numpy(), s.gt_t.double().numpy(),
            s.cam_K.numpy(), s.ori_shape)
        # the same rasteriser at 4x: within the 1x mask's quantisation
        assert area == pytest.approx(float(s.mask_area), rel=0.01)


@pytest.mark.parametrize('scale', [0.93, 1.0, 1.08])
def test_depth_along_the_ray_is_recovered(synthetic_root, test_frames,
                                          scale):
    refiner = _refiner(synthetic_root, iters=3)
    samples = [_with_prediction(s, s.gt_R, s.gt_t * scale)
               for s in test_frames]
    refiner(samples)
    for s in samples:
        gt = s.gt_t.double()
        t = s.pred_t.double()
        # the refined t stays on the predicted ray: parallel to gt here
        assert torch.linalg.cross(t, gt).norm() / (t.norm() * gt.norm()) \
            < 1e-6
        # and lands within 0.3 % of the true depth (a 7-8 % error before)
        assert float(t[2] / gt[2]) == pytest.approx(1.0, abs=3e-3)
        assert torch.equal(s.pred_R, s.gt_R)


def test_poses_it_cannot_judge_are_kept(synthetic_root, test_frames):
    refiner = _refiner(synthetic_root, max_change=0.1)
    base = test_frames[0]
    far = _with_prediction(base, base.gt_R, base.gt_t * 1.3)  # > 10 %
    nan = _with_prediction(base, base.gt_R, torch.full((3, ), float('nan')))
    behind = _with_prediction(base, base.gt_R, -base.gt_t)
    no_mask = _with_prediction(base, base.gt_R, base.gt_t * 1.05)
    del no_mask.mask_area
    before = [s.pred_t.clone() for s in (far, nan, behind, no_mask)]
    refiner([far, nan, behind, no_mask])
    for s, t in zip((far, behind, no_mask), before[:1] + before[2:]):
        assert torch.equal(s.pred_t, t)
    assert torch.isnan(nan.pred_t).all()


def test_pose_regressor_applies_it_in_predict(synthetic_root, test_frames):
    torch.manual_seed(0)
    frame = test_frames[1]
    model = MODELS.build(dict(
        type='PoseRegressor',
        backbone=dict(type='TorchvisionResNet', depth=18),
        head=dict(type='PoseRegressionHead', hidden_channels=16),
        objects=dict(models_dir=str(synthetic_root / 'models')),
        refiner=dict(type='SilhouetteDepthRefiner')))  # the same meshes
    assert not any('refiner' in k for k in model.state_dict())
    # the head's poses: the true rotation, the depth 5 % too far
    model.head.predict = lambda feats, samples, shape: [
        _with_prediction(s, s.gt_R, s.gt_t * 1.05) for s in samples]
    model.eval()
    out = model.predict(torch.zeros(1, 3, 32, 32), [frame])
    assert float(out[0].pred_t[2] / frame.gt_t[2]) == pytest.approx(
        1.0, abs=3e-3)


def test_bad_models_folder_errors_name_it(synthetic_root, tmp_path,
                                         test_frames):
    with pytest.raises(FileNotFoundError, match='models folder not found'):
        MODELS.build(dict(type='SilhouetteDepthRefiner',
                          models_dir=str(tmp_path / 'nowhere')))
    empty = tmp_path / 'models'
    empty.mkdir()
    refiner = MODELS.build(dict(type='SilhouetteDepthRefiner',
                                models_dir=str(empty)))
    s = test_frames[0]
    with pytest.raises(FileNotFoundError, match='obj_0000'):
        refiner([_with_prediction(s, s.gt_R, s.gt_t)])
    (empty / f'obj_{int(s.obj_id):06d}.ply').write_text('not a ply\n')
    with pytest.raises(DataError, match='cannot read the model'):
        refiner([_with_prediction(s, s.gt_R, s.gt_t)])
    with pytest.raises(ValueError, match='iters >= 1'):
        MODELS.build(dict(type='SilhouetteDepthRefiner',
                          models_dir=str(empty), iters=0))


def test_mask_iou_is_one_at_the_true_pose_and_falls_off(synthetic_root):
    from posessl.datasets.transforms.loading import read_mask
    ds = DATASETS.build(dict(type='LinemodBOPDataset',
                             data_root=str(synthetic_root), split='test'))
    refiner = _refiner(synthetic_root)
    for i in (0, len(ds) // 2, len(ds) - 1):
        info = ds.get_data_info(i)
        mask = read_mask(info['mask_path'])
        R, t, K = info['gt_R'], info['gt_t'], info['cam_K']
        obj = info['obj_id']
        # the generator's mask is this rasteriser's coverage at 1x
        assert refiner.mask_iou(obj, R, t, K, mask) > 0.99
        # moved sideways by the object's own width: the overlap is gone
        wide = np.array([ds.metainfo['diameters'][obj], 0.0, 0.0])
        assert refiner.mask_iou(obj, R, t + 2 * wide, K, mask) == 0.0
        # twice as far: a quarter of the area, all inside the mask's
        # neighbourhood, so IoU near 1/4
        assert refiner.mask_iou(obj, R, t * 2, K, mask) == pytest.approx(
            0.25, abs=0.06)
        assert refiner.mask_iou(obj, R, -t, K, mask) == 0.0
        assert refiner.mask_iou(obj, R, t * np.nan, K, mask) == 0.0


@pytest.mark.parametrize('shift', [(6.0, 0.0, 0.0), (-4.0, 5.0, 30.0)])
def test_align_centroid_recovers_a_sideways_shift(synthetic_root,
                                                  test_frames, shift):
    refiner = _refiner(synthetic_root, iters=3, align_centroid=True)
    plain = _refiner(synthetic_root, iters=3)

    def inside(s) -> bool:  # a border cuts the silhouette as it moves
        x, y, w, h = s.bbox
        return x > 1 and y > 1 and x + w < s.ori_shape[1] - 2 and \
            y + h < s.ori_shape[0] - 2

    frames = [s for s in test_frames if inside(s)]
    assert len(frames) >= 3
    moved = [_with_prediction(s, s.gt_R, s.gt_t + torch.tensor(shift))
             for s in frames]
    kept = [m.clone() for m in moved]
    refiner(moved)
    plain(kept)
    for s, k in zip(moved, kept):
        # the mask's centroid is the silhouette's at the true pose: the
        # image position comes back, within a millimetre at ~1 m
        err = (s.pred_t.double() - s.gt_t.double()).abs()
        assert float(err[:2].max()) < 1.0 and float(err[2]) < 4.0
        # without the centroid only the depth moves: the offset stays
        assert float((k.pred_t.double() - s.gt_t.double())[:2].abs().max()
                     ) > 3.0
    # no mask_centroid (a sample from before the field): depth only
    base = _with_prediction(frames[0], frames[0].gt_R,
                            frames[0].gt_t + torch.tensor(shift))
    del base.mask_centroid
    refiner([base])
    assert float((base.pred_t.double() - frames[0].gt_t.double())[
        :2].abs().max()) > 3.0
