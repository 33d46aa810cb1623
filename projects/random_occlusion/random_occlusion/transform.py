"""A piece of the crop's surroundings in front of the object."""
from typing import Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from posessl.errors import DataError
from posessl.registry import TRANSFORMS

__all__ = ['RandomOcclusion', 'occlude']


def occlude(img: np.ndarray, box: Tuple[int, int, int, int],
            shift: Tuple[int, int]) -> np.ndarray:
    """``img`` with the ``(x0, y0, x1, y1)`` rectangle (end exclusive)
    replaced by the pixels ``shift = (dx, dy)`` away, wrapping around the
    image's edges: a piece of the crop's own surroundings in front of the
    object."""
    x0, y0, x1, y1 = box
    dx, dy = shift
    h, w = img.shape[:2]
    out = img.copy()
    rows = (np.arange(y0, y1) + dy) % h
    cols = (np.arange(x0, x1) + dx) % w
    out[y0:y1, x0:x1] = img[rows[:, None], cols[None, :]]
    return out


@TRANSFORMS.register_module()
class RandomOcclusion(BaseTransform):
    """Put a band of the crop's surroundings in front of the object.

    With probability ``prob``, a band that enters the object's box from a
    random side and spans it across covers a share of the box (uniform in
    ``cover``) with the crop's own pixels from a random offset of at least
    the box's size. The amodal ``mask`` stays whole. Run it after
    ``MaskCenteredCrop`` and before ``MaskBackground`` (the band lies inside
    the mask, so the background fill keeps it).

    Args:
        prob: probability of an occluder.
        cover: range of the covered share of the box's width or height.
    """

    def __init__(self, prob: float = 0.5,
                 cover: Tuple[float, float] = (0.1, 0.5)) -> None:
        lo, hi = (float(v) for v in cover)
        if not 0 <= prob <= 1 or not 0 < lo <= hi < 1:
            raise ValueError('RandomOcclusion needs 0 <= prob <= 1 and '
                             f'0 < cover[0] <= cover[1] < 1, got {prob}, '
                             f'{cover}')
        self.prob = float(prob)
        self.cover = (lo, hi)

    def transform(self, results: dict) -> dict:
        """``results['img']`` replaced by an occluded copy (``prob``)."""
        if np.random.uniform() >= self.prob:
            return results
        mask = results.get('mask')
        if mask is None:
            raise DataError(f"{results.get('img_path')}: RandomOcclusion "
                            'needs the object mask (after MaskCenteredCrop)')
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            return results
        x0, x1 = int(xs.min()), int(xs.max()) + 1
        y0, y1 = int(ys.min()), int(ys.max()) + 1
        share = np.random.uniform(*self.cover)
        side = np.random.randint(4)  # left, right, top, bottom
        if side < 2:
            n = max(1, int(round(share * (x1 - x0))))
            x0, x1 = (x0, x0 + n) if side == 0 else (x1 - n, x1)
        else:
            n = max(1, int(round(share * (y1 - y0))))
            y0, y1 = (y0, y0 + n) if side == 2 else (y1 - n, y1)
        h, w = mask.shape
        bw, bh = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
        dx = int(np.random.randint(bw, max(bw + 1, w - bw + 1)))
        dy = int(np.random.randint(bh, max(bh + 1, h - bh + 1)))
        results['img'] = occlude(results['img'], (x0, y0, x1, y1),
                                 (dx, dy))
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob}, cover={self.cover})'
