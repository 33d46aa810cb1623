"""Photometric augmentation of the (cropped) RGB image."""
from typing import Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from posessl.registry import TRANSFORMS

__all__ = ['PhotometricAug']

Range = Union[float, Sequence[float]]

#: ITU-R BT.601 luma weights (RGB), as in torchvision's grayscale.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _factor_range(name: str, value: Range) -> Tuple[float, float]:
    """``b`` -> ``(1 - b, 1 + b)``; a pair is taken as is."""
    if isinstance(value, (int, float)):
        if not 0 <= value < 1:
            raise ValueError(f'{name} must be in [0, 1), got {value}')
        return 1.0 - value, 1.0 + value
    lo, hi = (float(v) for v in value)
    if not 0 <= lo <= hi:
        raise ValueError(f'{name} range must satisfy 0 <= lo <= hi, got '
                         f'{(lo, hi)}')
    return lo, hi


def _pair(name: str, value: Sequence[float],
          symmetric: bool = False) -> Tuple[float, float]:
    """``(lo, hi)`` with ``lo <= hi``; ``x`` -> ``(-x, x)`` if symmetric."""
    if symmetric and isinstance(value, (int, float)):
        value = (-float(value), float(value))
    lo, hi = (float(v) for v in value)
    if lo > hi:
        raise ValueError(f'{name} range must satisfy lo <= hi, got '
                         f'{(lo, hi)}')
    return lo, hi


@TRANSFORMS.register_module()
class PhotometricAug(BaseTransform):
    """Random colour jitter, Gaussian noise and Gaussian blur of ``img``.

    With probability ``color_prob``, in this order:
    brightness ``img * b``; contrast ``m + c (img - m)`` with ``m`` the
    mean grey level; saturation ``g + s (img - g)`` with ``g`` each pixel's
    grey level; hue, a rotation of the HSV hue by ``h`` turns. The factors
    are uniform in their ranges (``x`` means ``(1 - x, 1 + x)`` for the
    factors and ``(-x, x)`` for the hue) and values are clipped to
    [0, 255] after each step. Then, with probability ``noise_prob``,
    Gaussian noise (std uniform in ``noise_std``, grey levels) and, with
    probability ``blur_prob``, a Gaussian blur (sigma uniform in
    ``blur_sigma``, px).

    Args:
        color_prob: Probability of the colour jitter.
        brightness, contrast, saturation: Factor ranges.
        hue: Hue shift range in turns (at most 0.5).
        noise_prob: Probability of noise.
        noise_std: Range of the noise's standard deviation.
        blur_prob: Probability of blur.
        blur_sigma: Range of the blur's sigma.
    """

    def __init__(self,
                 color_prob: float = 0.8,
                 brightness: Range = 0.2,
                 contrast: Range = 0.2,
                 saturation: Range = 0.2,
                 hue: Range = 0.02,
                 noise_prob: float = 0.0,
                 noise_std: Sequence[float] = (0.0, 5.0),
                 blur_prob: float = 0.0,
                 blur_sigma: Sequence[float] = (0.1, 1.0)) -> None:
        for name, p in (('color_prob', color_prob),
                        ('noise_prob', noise_prob),
                        ('blur_prob', blur_prob)):
            if not 0 <= p <= 1:
                raise ValueError(f'{name} must be in [0, 1], got {p}')
        self.color_prob = color_prob
        self.brightness = _factor_range('brightness', brightness)
        self.contrast = _factor_range('contrast', contrast)
        self.saturation = _factor_range('saturation', saturation)
        self.hue = _pair('hue', hue, symmetric=True)
        if max(abs(v) for v in self.hue) > 0.5:
            raise ValueError(f'hue must be within [-0.5, 0.5], got {hue}')
        self.noise_prob = noise_prob
        self.noise_std = _pair('noise_std', noise_std)
        self.blur_prob = blur_prob
        self.blur_sigma = _pair('blur_sigma', blur_sigma)
        if self.noise_std[0] < 0 or self.blur_sigma[0] <= 0:
            raise ValueError('noise_std must be >= 0 and blur_sigma > 0')

    @staticmethod
    def _colour(img: np.ndarray, b: float, c: float, s: float,
                h: float) -> np.ndarray:
        img = np.clip(img * b, 0, 255)
        mean = float((img @ _LUMA).mean())
        img = np.clip(mean + c * (img - mean), 0, 255)
        grey = (img @ _LUMA)[..., None]
        img = np.clip(grey + s * (img - grey), 0, 255)
        if h != 0:
            hsv = cv2.cvtColor(img / 255.0, cv2.COLOR_RGB2HSV)
            hsv[..., 0] = np.mod(hsv[..., 0] + 360.0 * h, 360.0)
            img = np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255.0, 0,
                          255)
        return img

    def transform(self, results: dict) -> dict:
        """Augment ``results['img']`` (uint8 RGB) in place of the key."""
        img = results['img'].astype(np.float32)
        rand = np.random.uniform
        if rand() < self.color_prob:
            img = self._colour(img, rand(*self.brightness),
                               rand(*self.contrast), rand(*self.saturation),
                               rand(*self.hue))
        if rand() < self.noise_prob:
            std = rand(*self.noise_std)
            img = np.clip(img + np.random.normal(0.0, std, img.shape), 0,
                          255).astype(np.float32)
        if rand() < self.blur_prob:
            sigma = rand(*self.blur_sigma)
            img = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma)
        results['img'] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(color_prob={self.color_prob}, '
                f'brightness={self.brightness}, contrast={self.contrast}, '
                f'saturation={self.saturation}, hue={self.hue}, '
                f'noise_prob={self.noise_prob}, blur_prob={self.blur_prob})')
