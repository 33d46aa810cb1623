"""Loading the RGB image and the object mask of a data info."""
import logging
from collections import OrderedDict
from typing import List, Optional, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from posessl.errors import DataError
from posessl.registry import TRANSFORMS

__all__ = [
    'LoadImageAndMask', 'read_rgb', 'read_mask', 'SKIPPED_KEY', 'check_mask'
]


def check_mask(mask: np.ndarray, image_shape: Tuple[int, int], where: str,
               error: type = DataError) -> None:
    """Raise ``error`` (its message naming ``where``) if ``mask`` is empty
    or its shape is not ``image_shape`` (h, w)."""
    if tuple(mask.shape) != tuple(image_shape):
        raise error(f'{where}: mask is {mask.shape[1]}x{mask.shape[0]}, '
                    f'the image {image_shape[1]}x{image_shape[0]}')
    if not mask.any():
        raise error(f'{where}: empty mask')


def _decode(path: str, flags: int) -> np.ndarray:
    try:
        buf = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise FileNotFoundError(f'{path}: file not found') from None
    except OSError as e:
        raise DataError(f'{path}: cannot read ({e.strerror})') from None
    img = cv2.imdecode(buf, flags) if buf.size else None
    if img is None:
        raise DataError(f'{path}: not a readable image')
    return img


def read_rgb(path: str) -> np.ndarray:
    """Read an image as (H, W, 3) uint8 RGB.

    Grey and 16-bit images are converted; alpha is dropped.

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: the file is not a readable image.
    """
    img = _decode(path, cv2.IMREAD_COLOR)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_mask(path: str) -> np.ndarray:
    """Read a mask as (H, W) bool (any channel above 127 is object).

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: the file is not a readable image.
    """
    img = _decode(path, cv2.IMREAD_UNCHANGED)
    if img.dtype != np.uint8:
        img = (img > 0).astype(np.uint8) * 255
    if img.ndim == 3:
        img = img[..., :3].max(axis=2)
    return img > 127


#: Key of the reasons of the samples skipped before this one, in order.
SKIPPED_KEY = 'skipped_samples'


@TRANSFORMS.register_module()
class LoadImageAndMask(BaseTransform):
    """Read ``img_path`` (RGB uint8) and ``mask_path`` (bool).

    Adds ``img`` (H, W, 3), ``img_shape`` and ``ori_shape`` (h, w) and
    ``mask`` (H, W) bool, or ``mask=None`` without a mask.

    A missing or unreadable file, an image whose size differs from the
    data info's ``ori_shape``, or a mask of another size or empty is a bad
    sample. With ``skip_bad=True`` the transform logs a warning, counts it
    in :attr:`num_skipped` and returns ``None`` (the dataset draws another
    sample); the next sample this process loads carries the reasons under
    :data:`SKIPPED_KEY`. With ``skip_bad=False`` it raises ``DataError``
    (``FileNotFoundError`` for a missing file).

    Args:
        skip_bad: Skip (True, training) or raise on (False) a bad sample.
        with_mask: Read the mask.
        cache_size: Keep the last this many decoded image/mask pairs per
            process, as read-only arrays (0: none).
    """

    def __init__(self, skip_bad: bool = True, with_mask: bool = True,
                 cache_size: int = 0) -> None:
        self.skip_bad = skip_bad
        self.with_mask = with_mask
        self.cache_size = int(cache_size)
        self._cache: 'OrderedDict[tuple, tuple]' = OrderedDict()
        self.num_skipped = 0
        self._pending: List[str] = []  # reasons not yet handed on

    def clear_cache(self) -> None:
        """Drop the decoded frames kept for ``cache_size``."""
        self._cache.clear()

    def _load_cached(
            self, results: dict) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        if self.cache_size <= 0:
            return self._load(results)
        key = (results['img_path'], results.get('mask_path'),
               results.get('ori_shape'))
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        pair = self._load(results)
        for array in pair:
            if array is not None:
                array.flags.writeable = False  # shared by later reads
        self._cache[key] = pair
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return pair

    def _load(self, results: dict) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        path = results['img_path']
        img = read_rgb(path)
        expected = results.get('ori_shape')
        if expected is not None and tuple(img.shape[:2]) != tuple(expected):
            raise DataError(f'{path}: image is {img.shape[1]}x'
                            f'{img.shape[0]}, the annotations say '
                            f'{expected[1]}x{expected[0]}')
        mask = None
        mask_path = results.get('mask_path')
        if self.with_mask and mask_path:
            mask = read_mask(mask_path)
            check_mask(mask, img.shape[:2], mask_path)
        return img, mask

    def transform(self, results: dict) -> Optional[dict]:
        try:
            img, mask = self._load_cached(results)
        except (DataError, OSError) as e:
            if not self.skip_bad:
                raise
            self.num_skipped += 1
            print_log(f'skipping a sample: {e} ({self.num_skipped} skipped '
                      'so far in this process)', logger='current',
                      level=logging.WARNING)
            self._pending.append(str(e).replace('\n', ' '))
            return None
        if self._pending:
            results[SKIPPED_KEY] = tuple(self._pending)
            self._pending = []
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        results['mask'] = mask
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(skip_bad={self.skip_bad}, '
                f'with_mask={self.with_mask}, cache_size={self.cache_size})')
