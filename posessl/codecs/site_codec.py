"""The SITE codec: translation targets ``(dx, dy, tz)`` of a crop and the
pose they decode to (:mod:`posessl.geometry.site`)."""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch

from posessl.geometry import (
    DEFAULT_DEPTH_SCALE,
    crop_center_ray,
    mask_area_reference,
    ray_rotation,
    site_decode,
    site_encode,
)
from posessl.registry import CODECS

__all__ = ['SITECodec']

DEPTH_REFS = ('crop', 'mask_area')


@CODECS.register_module()
class SITECodec:
    """SITE translation and allocentric rotation of a crop.

    ``encode`` turns one sample's label (numpy, in the pipeline) into the
    target ``gt_site``; ``decode`` turns the head's batched outputs (torch)
    into ``R``, ``t`` in the camera frame.

    Args:
        depth_scale: mm, the SITE depth normaliser.
        depth_ref: what ``tz`` is measured against: ``'crop'``, the input
            window, or ``'mask_area'``, the square root of the object's
            visible mask area (``MaskCenteredCrop``'s ``mask_area``), which
            overestimates the depth of occluded objects.
        allocentric: the network's rotation is relative to the ray through
            the crop centre: ``R = ray_rotation(ray) @ R_net``.

    Raises:
        ValueError: a bad ``depth_ref`` or ``depth_scale <= 0``.
    """

    def __init__(self,
                 depth_scale: float = DEFAULT_DEPTH_SCALE,
                 depth_ref: str = 'crop',
                 allocentric: bool = True) -> None:
        if depth_ref not in DEPTH_REFS:
            raise ValueError("SITECodec: depth_ref must be 'crop' or "
                             f"'mask_area', got {depth_ref!r}")
        if depth_scale <= 0:
            raise ValueError('SITECodec: depth_scale must be positive, got '
                             f'{depth_scale}')
        self.depth_scale = float(depth_scale)
        self.depth_ref = depth_ref
        self.allocentric = bool(allocentric)

    @property
    def uses_mask_area(self) -> bool:
        """Whether encoding and decoding need ``mask_area`` and ``cam_K``."""
        return self.depth_ref == 'mask_area'

    def depth_reference(self, crop_K: torch.Tensor,
                        cam_K: Optional[torch.Tensor] = None,
                        mask_area: Optional[torch.Tensor] = None
                        ) -> Optional[torch.Tensor]:
        """``ref_size`` of :func:`~posessl.geometry.site_encode`: None for
        ``'crop'``, else :func:`~posessl.geometry.mask_area_reference`.

        Raises:
            ValueError: ``'mask_area'`` without ``mask_area`` and ``cam_K``.
        """
        if not self.uses_mask_area:
            return None
        if mask_area is None or cam_K is None:
            raise ValueError("SITECodec(depth_ref='mask_area') needs "
                             'mask_area and cam_K')
        return mask_area_reference(mask_area, cam_K, crop_K)

    def encode(self,
               gt_t: np.ndarray,
               crop_K: np.ndarray,
               out_size: Sequence[int],
               cam_K: Optional[np.ndarray] = None,
               mask_area: Optional[float] = None) -> Dict[str, np.ndarray]:
        """``{'gt_site': (3,) float32}`` of one sample's ``gt_t`` (3,) mm,
        its input's ``crop_K`` (3, 3) and ``out_size`` ``(H, W)``; with
        ``depth_ref='mask_area'`` also its ``cam_K`` and ``mask_area``
        (source pixels). Computed in float64.

        Raises:
            ValueError: ``'mask_area'`` without a positive ``mask_area``.
        """
        crop = torch.as_tensor(crop_K, dtype=torch.float64)
        ref = None
        if self.uses_mask_area:
            if mask_area is None or not mask_area > 0:
                raise ValueError(
                    "depth_ref='mask_area' needs a non-empty object mask "
                    '(LoadImageAndMask, then MaskCenteredCrop), got '
                    f"mask_area {mask_area}; use depth_ref='crop' without "
                    'masks')
            ref = self.depth_reference(
                crop, torch.as_tensor(cam_K, dtype=torch.float64),
                torch.as_tensor(mask_area, dtype=torch.float64))
        site = site_encode(torch.as_tensor(gt_t, dtype=torch.float64), crop,
                           out_size, self.depth_scale, ref)
        return dict(gt_site=site.numpy().astype(np.float32))

    def decode(self,
               R_net: torch.Tensor,
               site: torch.Tensor,
               crop_K: torch.Tensor,
               out_size: Sequence[int],
               cam_K: Optional[torch.Tensor] = None,
               mask_area: Optional[torch.Tensor] = None
               ) -> Tuple[torch.Tensor, torch.Tensor]:
        """``R`` (N, 3, 3) and ``t`` (N, 3) mm in the camera frame, in the
        inputs' dtype, from the network's rotations ``R_net`` (N, 3, 3) and
        SITE values (N, 3), with each input's ``crop_K`` (N, 3, 3);
        ``cam_K`` (N, 3, 3) and ``mask_area`` (N,) for ``'mask_area'``."""
        R = R_net
        if self.allocentric:
            R = ray_rotation(crop_center_ray(crop_K, out_size)) @ R_net
        ref = self.depth_reference(crop_K, cam_K, mask_area)
        return R, site_decode(site, crop_K, out_size, self.depth_scale, ref)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(depth_scale={self.depth_scale}, '
                f'depth_ref={self.depth_ref!r}, '
                f'allocentric={self.allocentric})')
