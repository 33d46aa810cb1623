"""Fixtures of the model tests: hand-built crops with exact metadata."""
from typing import Callable, List, Optional

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from posessl.datasets.transforms import GeneratePoseTarget
from posessl.geometry import crop_camera_matrix
from posessl.structures import PoseDataSample
from tests.cameras import LINEMOD_K

CAM_K = LINEMOD_K
#: One asymmetric object (1) and one symmetric object (2), mm.
DIAMETERS = {1: 102.0, 2: 120.0}


def model_points(obj_id: int, n: int = 500) -> np.ndarray:
    """Points of a 60 x 40 x 30 mm box (obj 1) or of a shape symmetric
    under a 180-degree turn about z (obj 2)."""
    rng = np.random.default_rng(obj_id)
    if obj_id == 1:
        return (rng.uniform(-0.5, 0.5, (n, 3)) *
                np.array([60.0, 40.0, 30.0])).astype(np.float32)
    half = rng.uniform(-40, 40, (n // 2, 3))
    turned = half * np.array([-1.0, -1.0, 1.0])
    return np.concatenate([half, turned]).astype(np.float32)


def dataset_meta() -> dict:
    """Metainfo as the datasets provide it."""
    return dict(
        dataset_name='toy',
        model_points={i: model_points(i) for i in DIAMETERS},
        diameters=dict(DIAMETERS),
        symmetric_obj_ids=(2, ))


def crop_sample(index: int, out_size: int = 64, obj_id: int = 1,
                has_pose: bool = True,
                mask_area: Optional[float] = None,
                codec: Optional[dict] = None) -> PoseDataSample:
    """A data sample with a random pose and a 'zoom'-mode crop around it
    (and the object's source-pixel ``mask_area`` where one is given), its
    ``gt_site`` encoded by ``GeneratePoseTarget`` with ``codec`` (default:
    the head's default, ``SITECodec()``)."""
    rng = np.random.default_rng(index)
    R = Rotation.random(random_state=index).as_matrix()
    t = np.array([rng.uniform(-150, 150), rng.uniform(-100, 100),
                  rng.uniform(600, 1200)])
    o = CAM_K @ t
    center = o[:2] / o[2] + rng.uniform(-5, 5, 2)
    size = 1.5 * DIAMETERS[obj_id] * CAM_K[0, 0] / t[2]
    zoom = out_size / size
    x0 = center[0] - (out_size - 1) / (2 * zoom)
    y0 = center[1] - (out_size - 1) / (2 * zoom)
    sample = PoseDataSample(
        metainfo=dict(
            img_path=f'toy/{index:06d}.png', obj_id=obj_id, scene_id=1,
            im_id=index, cam_K=CAM_K, crop_center=tuple(center),
            crop_size=size, zoom=zoom, img_shape=(out_size, out_size),
            crop_K=crop_camera_matrix(CAM_K, x0, y0, zoom),
            has_pose=has_pose))
    if mask_area is not None:
        sample.set_metainfo(dict(mask_area=mask_area))
    sample.gt_R = torch.as_tensor(R, dtype=torch.float32)
    sample.gt_t = torch.as_tensor(t, dtype=torch.float32)
    target = GeneratePoseTarget(codec or dict(type='SITECodec'))
    sample.gt_site = target(dict(
        img=np.zeros((out_size, out_size, 3), np.uint8), has_pose=has_pose,
        gt_t=t, crop_K=sample.crop_K.numpy(), cam_K=CAM_K,
        mask_area=mask_area))['gt_site']
    return sample


@pytest.fixture
def make_batch() -> Callable[..., dict]:
    """``make_batch(n, out_size)``: random uint8 crops and data samples."""

    def make(n: int = 4, out_size: int = 64, seed: int = 0) -> dict:
        g = torch.Generator().manual_seed(seed)
        inputs: List[torch.Tensor] = [
            torch.randint(0, 256, (3, out_size, out_size),
                          dtype=torch.uint8, generator=g) for _ in range(n)
        ]
        samples = [crop_sample(seed * 1000 + i, out_size) for i in range(n)]
        return dict(inputs=inputs, data_samples=samples)

    return make
