"""Packing pipeline results into model inputs and a PoseDataSample."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from posessl.registry import TRANSFORMS
from posessl.structures.pose_data_sample import PoseDataSample

__all__ = ['PackPoseInputs']

DEFAULT_META_KEYS = ('img_path', 'obj_id', 'scene_id', 'im_id', 'ori_shape',
                     'img_shape', 'bbox', 'cam_K', 'crop_K', 'crop_center',
                     'crop_size', 'zoom', 'mask_area', 'has_pose')


@TRANSFORMS.register_module()
class PackPoseInputs(BaseTransform):
    """Pack ``img`` and the labels per ``docs/architecture.md``.

    Returns ``{'inputs': uint8 tensor (3, H, W) RGB, 'data_samples':
    PoseDataSample}``; the sample's metainfo holds the ``meta_keys`` found
    in the results (plus ``zoom_xy`` where the crop recorded one) and its
    data fields ``gt_R`` (3, 3) and ``gt_t`` (3,) as float32 tensors (mm).

    Args:
        meta_keys: Result keys copied into the metainfo.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Build the inputs tensor and the data sample."""
        img = results['img']
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f"{results.get('img_path')}: expected an "
                             f'H x W x 3 uint8 image, got {img.shape} '
                             f'{img.dtype}')
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0,
                                                                     1)))
        sample = PoseDataSample()
        keys = list(self.meta_keys)
        if 'zoom_xy' in results:
            keys.append('zoom_xy')
        sample.set_metainfo({k: results[k] for k in keys if k in results})
        if 'gt_R' in results:
            sample.gt_R = torch.as_tensor(
                np.asarray(results['gt_R'], dtype=np.float32).reshape(3, 3))
        if 'gt_t' in results:
            sample.gt_t = torch.as_tensor(
                np.asarray(results['gt_t'], dtype=np.float32).reshape(3))
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
