"""Replace the background of an object crop using its mask."""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from posessl.errors import DataError
from posessl.registry import TRANSFORMS

__all__ = ['MaskBackground']

_FILLS = ('constant', 'noise', 'random_colour')

#: ImageNet's mean colour (0-255): zero after the default normalisation.
IMAGENET_MEAN_RGB = (124, 116, 104)


@TRANSFORMS.register_module()
class MaskBackground(BaseTransform):
    """Overwrite every pixel of ``img`` outside the object mask.

    Run it after :class:`MaskCenteredCrop` and before
    :class:`PhotometricAug`.

    Args:
        fill: ``'constant'`` (``value``), ``'noise'`` (uniform noise per
            pixel) or ``'random_colour'`` (one uniform colour per image).
        value: RGB of the ``'constant'`` fill (default: ImageNet's mean,
            zero after normalisation).
    """

    def __init__(self, fill: str = 'constant',
                 value: Sequence[int] = IMAGENET_MEAN_RGB) -> None:
        if fill not in _FILLS:
            raise ValueError(f'MaskBackground: fill must be one of {_FILLS}, '
                             f'got {fill!r}')
        value = tuple(int(v) for v in value)
        if len(value) != 3 or not all(0 <= v <= 255 for v in value):
            raise ValueError('MaskBackground: value must be three integers '
                             f'in [0, 255], got {value}')
        self.fill = fill
        self.value = value

    def transform(self, results: dict) -> dict:
        """Fill the background of ``results['img']`` (uint8, H x W x 3)."""
        mask = results.get('mask')
        if mask is None:
            raise DataError(
                f"{results.get('img_path')}: MaskBackground needs the object "
                'mask; load it (LoadImageAndMask with_mask=True) and crop it '
                'with MaskCenteredCrop first')
        img = results['img']
        if mask.shape != img.shape[:2]:
            raise DataError(f"{results.get('img_path')}: mask shape "
                            f'{mask.shape} does not match the image '
                            f'{img.shape[:2]}')
        background = ~mask.astype(bool)
        if self.fill == 'constant':
            colour = self.value
        else:
            shape = 3 if self.fill == 'random_colour' else (
                int(background.sum()), 3)
            colour = np.random.randint(0, 256, shape, dtype=np.uint8)
        results['img'] = img.copy()
        results['img'][background] = colour
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(fill={self.fill!r})'
