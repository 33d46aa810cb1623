"""Encoding the pose head's training targets in the data pipeline."""
from typing import Union

import numpy as np
from mmcv.transforms import BaseTransform

from posessl.codecs import SITECodec
from posessl.errors import DataError
from posessl.registry import CODECS, TRANSFORMS

__all__ = ['GeneratePoseTarget']

#: ``gt_site`` of a frame without a pose (finite; ``has_pose`` masks it).
UNPOSED_SITE = np.array([0.0, 0.0, 1.0], dtype=np.float32)


@TRANSFORMS.register_module()
class GeneratePoseTarget(BaseTransform):
    """Write ``gt_site`` (3,) float32, the head's SITE target, with ``codec``.

    Place it after every step that changes the crop, camera or label, before
    ``PackPoseInputs``, with the head's ``decoder`` config. It reads
    ``gt_t``, ``crop_K``, ``img`` (and ``cam_K``, ``mask_area`` for
    ``depth_ref='mask_area'``); a frame without a pose (``has_pose`` False,
    or no ``gt_t``) gets :data:`UNPOSED_SITE`.

    Raises:
        DataError: a posed frame lacks what the codec needs (one line naming
            the image).
    """

    def __init__(self, codec: Union[dict, SITECodec]) -> None:
        self.codec = CODECS.build(codec) if isinstance(codec, dict) else codec

    def transform(self, results: dict) -> dict:
        """Add ``gt_site`` to ``results``."""
        posed = bool(results.get('has_pose', 'gt_R' in results))
        if not posed or results.get('gt_t') is None:
            results['gt_site'] = UNPOSED_SITE.copy()
            return results
        where = results.get('img_path', '<unknown image>')
        if results.get('crop_K') is None or results.get('img') is None:
            raise DataError(f'{where}: GeneratePoseTarget needs the crop '
                            '(img, crop_K): put it after MaskCenteredCrop')
        try:
            results.update(self.codec.encode(
                results['gt_t'], results['crop_K'], results['img'].shape[:2],
                cam_K=results.get('cam_K'),
                mask_area=results.get('mask_area')))
        except ValueError as e:
            raise DataError(f'{where}: {e}') from None
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(codec={self.codec!r})'
