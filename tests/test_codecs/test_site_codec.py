"""SITECodec and GeneratePoseTarget: encode then decode gives the pose back,
a hand-computed case, the pipeline's target is site_encode's, and every
shipped config encodes with the codec its head decodes with."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from scipy.spatial.transform import Rotation

from posessl.codecs import SITECodec
from posessl.errors import DataError
from posessl.geometry import (
    crop_camera_matrix,
    crop_center_ray,
    mask_area_reference,
    ray_rotation,
    site_encode,
)
from posessl.registry import CODECS, TRANSFORMS
from tests.cameras import LINEMOD_K

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
OUT = (48, 64)  # (H, W): a non-square input checks the axes


def _crop(t: np.ndarray, zoom: float = 0.4) -> np.ndarray:
    """``crop_K`` of an OUT crop around the projection of ``t``, off by a
    few pixels."""
    o = LINEMOD_K @ t
    centre = o[:2] / o[2] + np.array([3.0, -2.0])
    x0 = centre[0] - (OUT[1] - 1) / (2 * zoom)
    y0 = centre[1] - (OUT[0] - 1) / (2 * zoom)
    return crop_camera_matrix(LINEMOD_K, x0, y0, zoom)


@pytest.mark.parametrize('allocentric', [False, True])
@pytest.mark.parametrize('depth_ref', ['crop', 'mask_area'])
def test_encode_then_decode_gives_the_pose_back(depth_ref, allocentric):
    codec = CODECS.build(dict(type='SITECodec', depth_ref=depth_ref,
                              depth_scale=120.0, allocentric=allocentric))
    rng = np.random.default_rng(0)
    gt_R, gt_t, crop_K, area, site = [], [], [], [], []
    for i in range(4):
        t = np.array([rng.uniform(-150, 150), rng.uniform(-100, 100),
                      rng.uniform(400, 1200)])
        K = _crop(t, zoom=0.3 + 0.1 * i)
        mask_area = 900.0 + 400.0 * i
        site.append(codec.encode(t, K, OUT, cam_K=LINEMOD_K,
                                 mask_area=mask_area)['gt_site'])
        assert site[-1].dtype == np.float32 and site[-1].shape == (3, )
        gt_R.append(Rotation.random(random_state=i).as_matrix())
        gt_t.append(t)
        crop_K.append(K)
        area.append(mask_area)
    crop_K = torch.tensor(np.stack(crop_K))
    gt_R = torch.tensor(np.stack(gt_R))
    # the network's rotation: relative to the crop centre's ray if allocentric
    R_net = gt_R
    if allocentric:
        ray = ray_rotation(crop_center_ray(crop_K, OUT))
        R_net = ray.transpose(-1, -2) @ gt_R
    R, t = codec.decode(R_net, torch.tensor(np.stack(site)).double(), crop_K,
                        OUT, cam_K=torch.tensor(LINEMOD_K).expand(4, 3, 3),
                        mask_area=torch.tensor(area, dtype=torch.float64))
    torch.testing.assert_close(R, gt_R, rtol=0, atol=1e-12)
    # float32 targets: about 1e-7 of the depth
    torch.testing.assert_close(t, torch.tensor(np.stack(gt_t)), rtol=1e-6,
                               atol=1e-3)


def test_hand_computed_targets():
    # f' = 100, centre pixel (31.5, 23.5) of a 64 x 48 input; t = (10, -20,
    # 500) projects to (33.5, 19.5): dx = 2 / 64, dy = -4 / 48.
    crop_K = np.array([[100.0, 0, 31.5], [0, 100.0, 23.5], [0, 0, 1]])
    t = np.array([10.0, -20.0, 500.0])
    crop = SITECodec(depth_scale=200.0).encode(t, crop_K, OUT)['gt_site']
    # tz = t_z sqrt(W H) / (f' depth_scale) = 500 sqrt(3072) / 20000
    np.testing.assert_allclose(
        crop, [2 / 64, -4 / 48, 500 * 3072 ** 0.5 / 20000], rtol=1e-6)
    # the source camera's f = 50: a zoom of 2, so a 400 px mask (20 px on a
    # side) is 40 input pixels: tz = 500 * 40 / 20000 = 1
    cam_K = np.array([[50.0, 0, 320], [0, 50.0, 240], [0, 0, 1]])
    mask = SITECodec(depth_scale=200.0, depth_ref='mask_area').encode(
        t, crop_K, OUT, cam_K=cam_K, mask_area=400.0)['gt_site']
    np.testing.assert_allclose(mask, [2 / 64, -4 / 48, 1.0], rtol=1e-6)
    ref = mask_area_reference(torch.tensor(400.0), torch.tensor(cam_K),
                              torch.tensor(crop_K))
    assert ref.item() == pytest.approx(40.0)


def _cropped(with_pose: bool = True) -> dict:
    """A frame through LoadImageAndMask's output and MaskCenteredCrop."""
    t = np.array([40.0, -25.0, 700.0])
    o = LINEMOD_K @ t
    u, v = int(o[0] / o[2]), int(o[1] / o[2])
    mask = np.zeros((480, 640), bool)
    mask[v - 20:v + 25, u - 30:u + 15] = True
    results = dict(img=np.zeros((480, 640, 3), np.uint8), mask=mask,
                   cam_K=LINEMOD_K.copy(), img_path='toy/000001.png',
                   bbox=[u - 30.0, v - 20.0, 45.0, 45.0], obj_id=1)
    if with_pose:
        results.update(gt_R=np.eye(3), gt_t=t, has_pose=True)
    crop = TRANSFORMS.build(dict(type='MaskCenteredCrop', mode='zoom',
                                 out_size=32, scale=1.4))
    return crop(results)


@pytest.mark.parametrize('depth_ref', ['crop', 'mask_area'])
def test_the_pipeline_target_is_site_encode_of_the_crop(depth_ref):
    codec = dict(type='SITECodec', depth_ref=depth_ref, depth_scale=120.0)
    results = _cropped()
    packed = TRANSFORMS.build(dict(type='PackPoseInputs'))(
        TRANSFORMS.build(dict(type='GeneratePoseTarget', codec=codec))(
            results))['data_samples']
    crop_K = torch.tensor(results['crop_K'])
    ref = None
    if depth_ref == 'mask_area':
        assert results['mask_area'] == 45 * 45
        ref = mask_area_reference(torch.tensor(results['mask_area'],
                                               dtype=torch.float64),
                                  torch.tensor(LINEMOD_K), crop_K)
    expected = site_encode(torch.tensor(results['gt_t']), crop_K, (32, 32),
                           120.0, ref)
    assert packed.gt_site.dtype == torch.float32
    torch.testing.assert_close(packed.gt_site, expected.float())


def test_unposed_frames_get_a_finite_placeholder_and_bad_input_fails():
    target = TRANSFORMS.build(dict(
        type='GeneratePoseTarget',
        codec=dict(type='SITECodec', depth_ref='mask_area')))
    unposed = _cropped(with_pose=False)
    assert target(unposed)['gt_site'].tolist() == [0.0, 0.0, 1.0]
    untrusted = _cropped()
    untrusted.update(has_pose=False, gt_t=np.full(3, np.nan))
    assert target(untrusted)['gt_site'].tolist() == [0.0, 0.0, 1.0]
    no_mask = _cropped()
    del no_mask['mask_area']
    with pytest.raises(DataError,
                       match=r"toy/000001.png: depth_ref='mask_area' needs"):
        target(no_mask)
    with pytest.raises(ValueError, match="depth_ref must be 'crop'"):
        SITECodec(depth_ref='box')


def _pose_configs():
    paths = glob.glob(osp.join(REPO, 'configs', 'pose', '*.py')) + \
        glob.glob(osp.join(REPO, 'projects', '*', 'configs', 'pose_*.py'))
    return sorted(paths)


def _training_pipelines(node):
    """Every ``pipeline`` list under a dataset config."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'pipeline':
                yield value
            else:
                yield from _training_pipelines(value)
    elif isinstance(node, list):
        for value in node:
            yield from _training_pipelines(value)


@pytest.mark.parametrize('path', _pose_configs(),
                         ids=lambda p: osp.relpath(p, REPO))
def test_each_config_encodes_with_the_codec_its_head_decodes_with(path):
    cfg = Config.fromfile(path)
    head = cfg.model.head
    pipelines = list(_training_pipelines(cfg.train_dataloader.to_dict()))
    assert pipelines
    for pipeline in pipelines:
        steps = [t for t in pipeline if t['type'] == 'GeneratePoseTarget']
        assert len(steps) == 1, 'one GeneratePoseTarget per pipeline'
        assert pipeline[-1]['type'] == 'PackPoseInputs'
        assert pipeline[-2]['type'] == 'GeneratePoseTarget'
        if head.type == 'PoseRegressionHead':
            assert steps[0]['codec'] == head.decoder
