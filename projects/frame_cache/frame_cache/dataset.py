"""``FrameCacheDataset``: decoded, cropped frames in a memory-mapped file.

Decoding a 640 x 480 PNG (and its mask) costs far more than cropping it,
and the training pipeline does both for every sample of every epoch. The
wrapper decodes and crops every frame of its dataset once, without jitter,
into a window ``margin`` times wider than the crop, at the crop's zoom, and
keeps those crops (RGB and mask, uint8) in one ``.npy`` file that every
loader process memory-maps. A sample is then the ``MaskCenteredCrop``
jitter applied as a second affine warp from the cached crop, followed by the
rest of the pipeline (``MaskBackground``, ``PhotometricAug``,
``PackPoseInputs``, ...).

Geometry: the cached crop is ``u_c = z (u - xc0)`` with ``z`` the
un-jittered zoom; the jittered window ``u' = z' (u - x0)`` (drawn exactly as
``MaskCenteredCrop`` draws it, from the same box) is read from it as
``u' = (z' / z) (u_c - z (x0 - xc0))``. ``crop_K``, ``zoom``, ``crop_size``
and ``crop_center`` are those of the jittered window, computed by
``MaskCenteredCrop.record_window``; ``mask_area`` is the full mask's pixel
count, stored at build time. Only the pixels differ from a direct crop, by
one more bilinear resampling.

The cache lives in ``cache_dir/<key>/`` where ``key`` hashes the frames'
files (paths, sizes, modification times), their boxes and the crop
settings; a change to any of them builds a new cache. It is written to a
temporary folder and renamed into place when complete, so a half-written
cache is never read.
"""
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.logging import print_log

from posessl.datasets.transforms import LoadImageAndMask, MaskCenteredCrop
from posessl.errors import DataError
from posessl.geometry import warp_crop, window_origin
from posessl.registry import DATASETS

__all__ = ['FrameCacheDataset', 'cache_key', 'window_in_cache']

#: Bumped when the cache layout or the crop maths change.
_FORMAT = 1
_CROPS = 'crops.npy'
_MASKS = 'masks.npy'
_META = 'meta.npz'


def _file_stamp(path: Optional[str]) -> Optional[List[Any]]:
    """``[path, size, mtime_ns]`` of a file (None for no file)."""
    if not path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return [path, None, None]
    return [path, st.st_size, st.st_mtime_ns]


def cache_key(infos: Sequence[dict], settings: Dict[str, Any]) -> str:
    """The hash naming a cache: of every frame's image and mask file
    (path, size, modification time), its box, and the crop settings."""
    frames = [[_file_stamp(i.get('img_path')), _file_stamp(i.get(
        'mask_path')), [float(v) for v in i.get('bbox', ())]]
              for i in infos]
    text = json.dumps(dict(format=_FORMAT, settings=settings,
                           frames=frames), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def window_in_cache(cached: Tuple[float, float, float, float],
                    window: Tuple[float, float, float, float]
                    ) -> Tuple[float, float, float, float]:
    """A crop window in the pixels of a cached crop.

    Args:
        cached: ``(xc0, yc0, zx, zy)``, the cached crop's origin (source
            px) and zoom: ``u_c = zx (u - xc0)``.
        window: ``(x0, y0, zx', zy')`` of the wanted crop, likewise.

    Returns:
        ``(x0_c, y0_c, rx, ry)`` with ``u' = rx (u_c - x0_c)``: the same
        crop taken from the cached one.
    """
    xc0, yc0, czx, czy = cached
    x0, y0, zx, zy = window
    return czx * (x0 - xc0), czy * (y0 - yc0), zx / czx, zy / czy


@DATASETS.register_module()
class FrameCacheDataset:
    """A pose dataset whose first two pipeline steps read a frame cache.

    The wrapped dataset's pipeline must start with ``LoadImageAndMask`` and
    ``MaskCenteredCrop`` (mode ``'center'``, ``'zoom'`` or ``'resize'``);
    the wrapper replaces those two steps and runs the others as they are.
    The cache is built (or found) by :meth:`full_init`, which the Runner
    calls in the main process before the loader processes start.

    Args:
        dataset: The dataset (config or object), e.g. a
            ``LinemodBOPDataset``.
        cache_dir: Folder of the caches (one sub-folder per key).
        margin: Extra window size of the cached crop over the crop
            (``None``: enough for the crop's largest jitter; see
            :meth:`needed_margin`).
        lazy_init: Build the cache on first use instead of at once.
    """

    def __init__(self, dataset: Any, cache_dir: str = 'data/frame_cache',
                 margin: Optional[float] = None,
                 lazy_init: bool = False) -> None:
        self.dataset = (DATASETS.build(dataset) if isinstance(dataset, dict)
                        else dataset)
        steps = list(getattr(self.dataset.pipeline, 'transforms', ()))
        if (len(steps) < 2 or not isinstance(steps[0], LoadImageAndMask)
                or not isinstance(steps[1], MaskCenteredCrop)):
            raise ValueError(
                'FrameCacheDataset: the dataset pipeline must start with '
                'LoadImageAndMask and MaskCenteredCrop, got '
                f'{[type(t).__name__ for t in steps[:2]]}')
        self.loader: LoadImageAndMask = steps[0]
        self.crop: MaskCenteredCrop = steps[1]
        if self.crop.mode == 'full':
            raise ValueError("FrameCacheDataset: MaskCenteredCrop mode "
                             "'full' has no jitter to apply; cache it "
                             'without the wrapper')
        if self.crop.box_source == 'detections':
            raise ValueError("FrameCacheDataset: box_source 'detections' "
                             'is not cached (a test-time setting)')
        self.tail = steps[2:]
        self.margin = (self.needed_margin(self.crop) if margin is None
                       else float(margin))
        if self.margin < 1:
            raise ValueError(f'FrameCacheDataset: margin must be >= 1, got '
                             f'{self.margin}')
        self.cache_dir = cache_dir
        # Cached crops are square, a whole even number of pixels wider
        # than the crop (so an un-jittered crop is an integer shift).
        out = self.crop.out_size
        self.cache_size = out + 2 * int(math.ceil(out * (self.margin - 1)
                                                  / 2))
        self.path: Optional[str] = None
        self._crops: Optional[np.ndarray] = None
        self._masks: Optional[np.ndarray] = None
        self._meta: Optional[Dict[str, np.ndarray]] = None
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    # ----------------------------------------------------------- settings
    @staticmethod
    def needed_margin(crop: MaskCenteredCrop) -> float:
        """The smallest margin whose cached window holds every jittered
        window of ``crop``: ``(1 + scale_jitter)`` plus twice the centre
        shift over the window (for ``'center'`` mode the shift is bounded
        by the box, not the window: the margin assumes a box no wider than
        the window; pass a larger one otherwise)."""
        shift = crop.center_jitter
        if crop.mode == 'zoom':
            shift /= crop.scale  # the box side is the window / scale
        return 1.0 + crop.scale_jitter + 2.0 * shift

    def _settings(self) -> Dict[str, Any]:
        c = self.crop
        return dict(out_size=c.out_size, mode=c.mode, crop_size=c.crop_size,
                    scale=c.scale, box_source=c.box_source,
                    with_mask=self.loader.with_mask,
                    cache_size=self.cache_size)

    # ------------------------------------------------------------ mmengine
    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's metainfo."""
        return self.dataset.metainfo

    @property
    def test_mode(self) -> bool:
        return bool(getattr(self.dataset, 'test_mode', False))

    def __len__(self) -> int:
        return len(self.dataset)

    def get_data_info(self, idx: int) -> dict:
        """The wrapped dataset's data info."""
        return self.dataset.get_data_info(idx)

    def full_init(self) -> None:
        """Find the cache of the current files and settings, or build it."""
        if self._fully_initialized:
            return
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        infos = [self.dataset.get_data_info(i)
                 for i in range(len(self.dataset))]
        key = cache_key(infos, self._settings())
        path = os.path.join(self.cache_dir, key)
        if not os.path.isfile(os.path.join(path, _META)):
            self._build(infos, path)
        else:
            print_log(f'FrameCacheDataset: reusing {path}', logger='current')
        self.path = path
        self._fully_initialized = True

    # -------------------------------------------------------------- build
    def _base_window(self, box: Sequence[float]
                     ) -> Tuple[float, float, float, float]:
        """Centre and zoom of the cached crop (the un-jittered window)."""
        return self.crop.window(box, jitter=False)

    def _cached_origin(self, cx: float, cy: float, zx: float,
                       zy: float) -> Tuple[float, float]:
        """Source position of the cached crop's pixel (0, 0)."""
        return window_origin(cx, cy, zx, zy, self.cache_size)

    def _build(self, infos: List[dict], path: str) -> None:
        """Decode and crop every frame into ``path`` (temp, then rename)."""
        n, size = len(infos), self.cache_size
        os.makedirs(self.cache_dir, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix='.building-', dir=self.cache_dir)
        print_log(f'FrameCacheDataset: caching {n} frames ({size} px) in '
                  f'{path}', logger='current')
        try:
            crops = np.lib.format.open_memmap(
                os.path.join(tmp, _CROPS), mode='w+', dtype=np.uint8,
                shape=(n, size, size, 3))
            masks = np.lib.format.open_memmap(
                os.path.join(tmp, _MASKS), mode='w+', dtype=np.uint8,
                shape=(n, size, size))
            boxes = np.zeros((n, 4), dtype=np.float64)
            areas = np.zeros(n, dtype=np.float64)
            has_mask = np.zeros(n, dtype=bool)
            valid = np.zeros(n, dtype=bool)
            for i, info in enumerate(infos):
                frame = self._crop_frame(dict(info))
                if frame is None:
                    continue
                crops[i], masks[i], boxes[i], areas[i], has_mask[i] = frame
                valid[i] = True
            crops.flush()
            masks.flush()
            del crops, masks
            np.savez(os.path.join(tmp, _META), boxes=boxes, areas=areas,
                     has_mask=has_mask, valid=valid)
            with open(os.path.join(tmp, 'settings.json'), 'w') as f:
                json.dump(dict(self._settings(), frames=n,
                               margin=self.margin), f, indent=1)
            if os.path.isdir(path) and not os.path.isfile(
                    os.path.join(path, _META)):
                shutil.rmtree(path)  # not a cache: a damaged leftover
            try:
                os.rename(tmp, path)
            except OSError:  # another process finished the same cache
                if not os.path.isfile(os.path.join(path, _META)):
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            # the loader's decoded-frame LRU (cache_size) is not needed
            # again: do not hand it to every loader process
            self.loader.clear_cache()

    def _crop_frame(self, info: dict
                    ) -> Optional[Tuple[np.ndarray, np.ndarray, List[float],
                                        float, bool]]:
        """RGB crop (size, size, 3), mask crop (size, size), box, mask
        area and whether a mask was read, of one frame; None for a bad
        frame when the loader skips bad frames (it raises otherwise)."""
        results = self.loader(info)
        if results is None:
            return None
        box = self.crop.object_box(results)
        cx, cy, zx, zy = self._base_window(box)
        x0, y0 = self._cached_origin(cx, cy, zx, zy)
        size = self.cache_size
        img = warp_crop(results['img'], x0, y0, zx, zy, size)
        mask = results.get('mask')
        area, cropped = 0.0, np.zeros((size, size), np.uint8)
        if mask is not None:
            area = float(np.count_nonzero(mask))
            cropped = warp_crop(mask.astype(np.uint8), x0, y0, zx, zy, size,
                                cv2.INTER_NEAREST)
        return img, cropped, box, area, mask is not None

    # --------------------------------------------------------------- read
    def _open(self) -> None:
        if self._crops is None:
            if not self._fully_initialized:
                self.full_init()
            self._crops = np.load(os.path.join(self.path, _CROPS),
                                  mmap_mode='r')
            self._masks = np.load(os.path.join(self.path, _MASKS),
                                  mmap_mode='r')
            with np.load(os.path.join(self.path, _META)) as meta:
                self._meta = {k: meta[k] for k in meta.files}
            if len(self._crops) != len(self):
                raise DataError(f'{self.path}: the cache holds '
                                f'{len(self._crops)} frames, the dataset '
                                f'{len(self)}')

    def cached_crop(self, idx: int) -> dict:
        """The frame ``idx`` as ``LoadImageAndMask`` + ``MaskCenteredCrop``
        give it, with the jitter drawn from NumPy's global generator.

        Raises:
            DataError: the frame was bad when the cache was built.
        """
        self._open()
        results = dict(self.dataset.get_data_info(idx))
        if results.get('ori_shape') is not None:
            results['ori_shape'] = tuple(results['ori_shape'])
        if not self._meta['valid'][idx]:
            raise DataError(f"{results.get('img_path')}: frame was "
                            'unreadable when the cache was built')
        box = [float(v) for v in self._meta['boxes'][idx]]
        bx, by, bzx, bzy = self._base_window(box)
        xc0, yc0 = self._cached_origin(bx, by, bzx, bzy)
        cx, cy, zx, zy = self.crop.window(box)
        x0, y0 = self.crop.record_window(results, cx, cy, zx, zy)
        cx0, cy0, rx, ry = window_in_cache((xc0, yc0, bzx, bzy),
                                           (x0, y0, zx, zy))
        out = self.crop.out_size
        results['img'] = warp_crop(self._crops[idx], cx0, cy0, rx, ry, out)
        results['mask'] = None
        if self._meta['has_mask'][idx]:
            results['mask_area'] = float(self._meta['areas'][idx])
            results['mask'] = warp_crop(self._masks[idx], cx0, cy0, rx, ry,
                                        out, cv2.INTER_NEAREST).astype(bool)
        return results

    def prepare_data(self, idx: int) -> Optional[dict]:
        """The cached crop through the rest of the pipeline (None when a
        step drops the sample, or the frame was bad in training)."""
        try:
            results = self.cached_crop(idx)
        except DataError as e:
            if self.test_mode:
                raise
            print_log(f'skipping a sample: {e}', logger='current',
                      level=logging.WARNING)
            return None
        for step in self.tail:
            results = step(results)
            if results is None:
                return None
        return results

    def __getitem__(self, idx: int) -> dict:
        if self.test_mode:
            data = self.prepare_data(idx)
            if data is None:
                raise DataError(f'FrameCacheDataset: the pipeline dropped '
                                f'test sample {idx}')
            return data
        refetch = getattr(self.dataset, 'max_refetch', 1000)
        for _ in range(refetch + 1):
            data = self.prepare_data(idx)
            if data is not None:
                return data
            idx = int(np.random.randint(0, len(self)))
        raise DataError(f'FrameCacheDataset: no usable sample after '
                        f'{refetch} tries')

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state['_crops'] = state['_masks'] = None  # each process maps them
        return state

