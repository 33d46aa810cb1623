"""Object-centred square crops ``u' = zoom_x (u - x0)``, ``v' = zoom_y (v -
y0)``, pixel centres at integers. Boxes ``[x, y, w, h]`` are BOP's: ``w`` is
the last column minus the first (likewise ``h``)."""
import math
from typing import List, Sequence, Tuple

import cv2
import numpy as np

__all__ = ['box_center', 'mask_box', 'window_origin', 'warp_crop']


def box_center(bbox: Sequence[float]) -> Tuple[float, float]:
    """Centre ``(cx, cy)`` of a box ``[x, y, w, h]`` (BOP convention)."""
    x, y, w, h = (float(v) for v in bbox)
    return x + w / 2.0, y + h / 2.0


def mask_box(mask: np.ndarray) -> List[float]:
    """Box ``[x, y, w, h]`` of a mask's True pixels (BOP convention).

    Raises:
        ValueError: the mask is empty.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ValueError('mask_box: empty mask')
    return [float(cols[0]), float(rows[0]), float(cols[-1] - cols[0]),
            float(rows[-1] - rows[0])]


def window_origin(cx: float, cy: float, zoom_x: float, zoom_y: float,
                  out_size: int) -> Tuple[float, float]:
    """Source position ``(x0, y0)`` of output pixel (0, 0) of the crop that
    puts ``(cx, cy)`` on the output's centre ``(out_size - 1) / 2``."""
    half = (out_size - 1) / 2.0
    return cx - half / zoom_x, cy - half / zoom_y


def warp_crop(img: np.ndarray, x0: float, y0: float, zoom_x: float,
              zoom_y: float, out_size: int,
              interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Apply ``u' = zoom_x (u - x0)``, ``v' = zoom_y (v - y0)``; pixels
    outside the image are zero. Linear interpolation at a zoom of 1/2 or
    less block-averages first (no aliasing).

    Args:
        img: (H, W) or (H, W, C) image.
        x0, y0: source position of the output's pixel (0, 0).
        zoom_x, zoom_y: output pixels per source pixel.
        out_size: output width and height.
        interpolation: ``cv2.INTER_LINEAR`` or ``cv2.INTER_NEAREST``.

    Returns:
        (out_size, out_size[, C]) image of ``img``'s dtype.
    """
    fx = max(1, int(math.floor(1.0 / zoom_x + 1e-9)))
    fy = max(1, int(math.floor(1.0 / zoom_y + 1e-9)))
    dsize = (out_size, out_size)
    if interpolation == cv2.INTER_NEAREST or (fx == 1 and fy == 1):
        M = np.array([[zoom_x, 0.0, -zoom_x * x0],
                      [0.0, zoom_y, -zoom_y * y0]])
        return cv2.warpAffine(img, M, dsize, flags=interpolation,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    # blocks of fx x fy source pixels whose centres fall on the output's
    # sampling grid where the offsets allow, one spare block on each side
    rx0, nbx = _blocks(x0, zoom_x, fx, out_size)
    ry0, nby = _blocks(y0, zoom_y, fy, out_size)
    roi = np.zeros((nby * fy, nbx * fx) + img.shape[2:], dtype=img.dtype)
    h, w = img.shape[:2]
    sx0, sy0 = max(rx0, 0), max(ry0, 0)
    sx1, sy1 = min(rx0 + nbx * fx, w), min(ry0 + nby * fy, h)
    if sx1 > sx0 and sy1 > sy0:
        roi[sy0 - ry0:sy1 - ry0, sx0 - rx0:sx1 - rx0] = img[sy0:sy1, sx0:sx1]
    small = cv2.resize(roi, (nbx, nby), interpolation=cv2.INTER_AREA)
    # small pixel j has its centre at source rx0 + fx j + (fx - 1) / 2
    M = np.array(
        [[zoom_x * fx, 0.0, zoom_x * (rx0 + (fx - 1) / 2.0 - x0)],
         [0.0, zoom_y * fy, zoom_y * (ry0 + (fy - 1) / 2.0 - y0)]])
    return cv2.warpAffine(small, M, dsize, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _blocks(x0: float, zoom: float, f: int, out_size: int) -> Tuple[int, int]:
    """First source pixel and number of the blocks of :func:`warp_crop`."""
    first = x0 - 0.5 / zoom - f  # leftmost source position needed
    last = x0 + (out_size - 0.5) / zoom + f  # rightmost
    aligned = round(x0 - (f - 1) / 2.0)  # a block centred near x0
    start = aligned - f * int(math.ceil((aligned - first) / f))
    return int(start), int(math.ceil((last - start) / f)) + 1
