"""Packing pipeline results into model inputs and a PoseDataSample."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from posessl.errors import DataError
from posessl.registry import TRANSFORMS
from posessl.structures.pose_data_sample import TENSOR_FIELDS, PoseDataSample

__all__ = ['PackPoseInputs']

DEFAULT_META_KEYS = ('img_path', 'scene_id', 'im_id', 'ori_shape',
                     'img_shape', 'bbox', 'crop_center', 'crop_size', 'zoom',
                     'zoom_xy', 'skipped_samples')
#: Results packed as typed tensors of the data sample (where present).
TENSOR_KEYS = ('obj_id', 'cam_K', 'crop_K', 'gt_R', 'gt_t', 'gt_site')


@TRANSFORMS.register_module()
class PackPoseInputs(BaseTransform):
    """Validate and pack ``img`` and the labels.

    Returns ``{'inputs': uint8 tensor (3, H, W) RGB, 'data_samples':
    PoseDataSample}``: the metainfo holds the ``meta_keys`` found, the typed
    tensors ``obj_id``, ``cam_K``, ``crop_K``, ``gt_R``, ``gt_t``,
    ``gt_site`` (where present), ``mask_area`` and ``mask_centroid`` (where
    the mask is not empty) and ``has_pose`` (default: whether ``gt_R`` is
    present).

    Args:
        meta_keys: Result keys copied into the metainfo (typed fields among
            them are packed as tensors).

    Raises:
        DataError: a bad shape, a non-finite camera or pose, or a
            ``has_pose`` frame without ``gt_R`` / ``gt_t`` (one line naming
            the image).
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Build the inputs tensor and the data sample."""
        where = results.get('img_path', '<unknown image>')
        img = results['img']
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise DataError(f'{where}: expected an H x W x 3 uint8 image, '
                            f'got {img.shape} {img.dtype}')
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0,
                                                                     1)))
        sample = PoseDataSample(metainfo={
            k: results[k] for k in self.meta_keys
            if k in results and k not in TENSOR_FIELDS})
        try:
            for key in TENSOR_KEYS + tuple(
                    k for k in self.meta_keys
                    if k in TENSOR_FIELDS and k not in TENSOR_KEYS):
                if results.get(key) is not None:
                    setattr(sample, key, results[key])
            if results.get('mask_area', 0) > 0:
                sample.mask_area = results['mask_area']
                if 'mask_centroid' in results:
                    sample.mask_centroid = results['mask_centroid']
            sample.has_pose = bool(results.get('has_pose',
                                               'gt_R' in results))
        except (TypeError, ValueError) as e:
            raise DataError(f'{where}: {e}') from None
        for key in ('cam_K', 'crop_K', 'gt_R', 'gt_t', 'gt_site'):
            if key in sample and not torch.isfinite(sample.get(key)).all():
                raise DataError(f'{where}: {key} has NaN or inf')
        if bool(sample.has_pose) and ('gt_R' not in sample
                                      or 'gt_t' not in sample):
            raise DataError(f'{where}: has_pose is True but gt_R / gt_t are '
                            'missing')
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
