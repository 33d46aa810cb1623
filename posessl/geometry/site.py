"""SITE: scale-invariant translation targets from a crop (CDPN, GDR-Net).

A crop discards where the object was in the image and how large it looked,
so a network that sees only the crop cannot regress ``t`` in millimetres.
SITE regresses three crop-relative numbers instead and recovers ``t`` with
the crop's camera matrix ``crop_K`` (``posessl.geometry.crop_camera_matrix``;
the crop changes the intrinsics, not the camera frame, so the decoded ``t``
is already in the original camera frame).

For a network input of ``W x H`` pixels whose camera is ``K'`` (``crop_K``)
and whose centre pixel is ``c' = ((W - 1) / 2, (H - 1) / 2)`` (pixel centres
at integer coordinates, as in the data contract):

* ``o' = K' t / t_z``: where the model origin projects in the input.
* ``dx = (o'_x - c'_x) / W`` and ``dy = (o'_y - c'_y) / H``: the centre
  offset as a fraction of the input. For the contract's square crop
  (``crop_center`` ``c``, ``crop_size`` ``s``, one ``zoom``) this equals
  ``(o_x - c_x) / s`` in source pixels. (metrics.md divides by the box size
  ``w``, ``h`` instead; the crop size is what the network sees, and the
  visible box of an occluded object can be a sliver.)
* ``tz = t_z * sqrt(W H) / (sqrt(f'_x f'_y) * depth_scale)``: the
  **normalised depth**. For a square crop it is ``t_z * s / (f * depth_scale)``
  (``f'`` = ``zoom * f``): the width in mm that the crop window covers at
  the object's depth, divided by ``depth_scale`` (mm). It is metrics.md's
  ``t_z / zoom`` times ``W / (f * depth_scale)``: dividing by the focal length
  makes it independent of the camera and of the input resolution, and when
  the crop follows the object's size it stays close to a constant times the
  object's diameter, so the network only regresses a small correction.

With ``ref_size`` given (a per-sample length in input pixels) it replaces
``sqrt(W H)`` in ``tz``: ``tz = t_z * ref_size / (sqrt(f'_x f'_y) *
depth_scale)``. The SITE codec passes the square root of the object's mask
area there (``depth_ref='mask_area'``, :func:`mask_area_reference`): unlike
the window of a zoom crop, which follows the box's longer side, the mask
area of an elongated object changes little with the viewpoint, so ``tz``
stays close to a constant per object and the depth is read off the mask
instead of being learnt per view.

Decoding inverts each step exactly: ``t_z = tz * f' * depth_scale /
sqrt(W H)`` (or ``/ ref_size``), ``o' = c' + (dx W, dy H)``,
``t = t_z K'^-1 (o'_x, o'_y, 1)``.
"""
from typing import Optional, Sequence, Tuple

import torch

__all__ = [
    'DEFAULT_DEPTH_SCALE', 'site_encode', 'site_decode', 'crop_center_pixel',
    'crop_center_ray', 'mask_area_reference'
]

#: Default ``depth_scale`` (mm): a LINEMOD-sized object's crop window
#: (about 1.5 diameters of 100-300 mm) then has a normalised depth near 1.
DEFAULT_DEPTH_SCALE = 200.0


def _size(out_size: Sequence[int]) -> Tuple[float, float]:
    if len(out_size) != 2:
        raise ValueError(f'out_size must be (H, W), got {out_size!r}')
    return float(out_size[0]), float(out_size[1])


def crop_center_pixel(out_size: Sequence[int], like: torch.Tensor
                      ) -> torch.Tensor:
    """Centre pixel ``((W - 1) / 2, (H - 1) / 2)`` of an ``(H, W)`` input."""
    h, w = _size(out_size)
    return torch.tensor([(w - 1) / 2, (h - 1) / 2],
                        dtype=like.dtype,
                        device=like.device)


def _focal_and_size(crop_K: torch.Tensor, out_size: Sequence[int]
                    ) -> Tuple[torch.Tensor, float, float, float]:
    h, w = _size(out_size)
    focal = torch.sqrt(crop_K[..., 0, 0] * crop_K[..., 1, 1])
    return focal, h, w, (h * w)**0.5


def _reference(size: float, ref_size: Optional[torch.Tensor],
               like: torch.Tensor) -> torch.Tensor:
    """The depth reference length: ``ref_size`` or the input's size.

    ``ref_size`` is not checked here (that would synchronise a GPU step);
    callers pass positive lengths (``PoseDataSample`` refuses an empty
    ``mask_area``)."""
    if ref_size is None:
        return like.new_tensor(size)
    return ref_size.to(like.dtype)


def mask_area_reference(mask_area: torch.Tensor, cam_K: torch.Tensor,
                        crop_K: torch.Tensor) -> torch.Tensor:
    """``ref_size`` (..., input pixels) of a mask: ``sqrt(mask_area)``
    (source pixels) times the crop's zoom ``sqrt(f'_x f'_y / (f_x f_y))``
    (``cam_K`` of the source image, ``crop_K`` of the input)."""
    zoom = torch.sqrt(crop_K[..., 0, 0] * crop_K[..., 1, 1] /
                      (cam_K[..., 0, 0] * cam_K[..., 1, 1]))
    return torch.sqrt(mask_area) * zoom


def site_encode(t: torch.Tensor,
                crop_K: torch.Tensor,
                out_size: Sequence[int],
                depth_scale: float = DEFAULT_DEPTH_SCALE,
                ref_size: Optional[torch.Tensor] = None) -> torch.Tensor:
    """SITE targets ``(dx, dy, tz)`` (..., 3) of translations ``t`` (..., 3).

    Args:
        t: translations in mm, camera frame, ``t_z > 0``.
        crop_K: (..., 3, 3) camera matrices of the network input.
        out_size: ``(H, W)`` of the network input in pixels.
        depth_scale: mm; see the module docstring.
        ref_size: (...) positive input pixels replacing ``sqrt(W H)`` in
            ``tz``.
    """
    if t.shape[-1] != 3 or crop_K.shape[-2:] != (3, 3):
        raise ValueError(f'site_encode needs t (..., 3) and crop_K '
                         f'(..., 3, 3), got {t.shape} and {crop_K.shape}')
    focal, h, w, size = _focal_and_size(crop_K, out_size)
    uvw = (crop_K @ t[..., None])[..., 0]
    o = uvw[..., :2] / uvw[..., 2:3]
    c = crop_center_pixel(out_size, t)
    dx = (o[..., 0] - c[0]) / w
    dy = (o[..., 1] - c[1]) / h
    tz = t[..., 2] * _reference(size, ref_size, t) / (focal * depth_scale)
    return torch.stack([dx, dy, tz], -1)


def site_decode(site: torch.Tensor,
                crop_K: torch.Tensor,
                out_size: Sequence[int],
                depth_scale: float = DEFAULT_DEPTH_SCALE,
                ref_size: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Translations (..., 3) in mm from SITE values ``(dx, dy, tz)``.

    The exact inverse of :func:`site_encode` with the same ``crop_K``,
    ``out_size``, ``depth_scale`` and ``ref_size``.
    """
    if site.shape[-1] != 3 or crop_K.shape[-2:] != (3, 3):
        raise ValueError(f'site_decode needs site (..., 3) and crop_K '
                         f'(..., 3, 3), got {site.shape} and {crop_K.shape}')
    focal, h, w, size = _focal_and_size(crop_K, out_size)
    c = crop_center_pixel(out_size, site)
    t_z = site[..., 2] * focal * depth_scale / _reference(size, ref_size,
                                                          site)
    ox = c[0] + site[..., 0] * w
    oy = c[1] + site[..., 1] * h
    pixel = torch.stack([ox, oy, torch.ones_like(ox)], -1)
    ray = torch.linalg.solve(crop_K, pixel[..., None])[..., 0]
    return ray * t_z[..., None]


def crop_center_ray(crop_K: torch.Tensor,
                    out_size: Sequence[int]) -> torch.Tensor:
    """Direction (..., 3), ``z = 1``, of the ray through the input's centre.

    For the contract's crop this is the ray through ``crop_center`` in the
    source image; the pose head measures allocentric rotations from it.
    """
    c = crop_center_pixel(out_size, crop_K)
    pixel = torch.cat([c, c.new_ones(1)]).expand(*crop_K.shape[:-2], 3)
    return torch.linalg.solve(crop_K, pixel[..., None])[..., 0]
