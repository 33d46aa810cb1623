"""``MaskCenteredCrop``: a square crop around the object with its exact
camera matrix."""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from posessl.errors import DataError
from posessl.geometry import crop_camera_matrix
from posessl.geometry.crop import (
    box_center,
    mask_box,
    warp_crop,
    window_origin,
)
from posessl.registry import TRANSFORMS
from posessl.structures.io import read_json

__all__ = ['MaskCenteredCrop', 'load_detections']

_MODES = ('center', 'zoom', 'resize', 'full')
_BOX_SOURCES = ('mask', 'bbox', 'detections')


def load_detections(path: str) -> Dict[Tuple[int, int, int], List[float]]:
    """Read a BOP detections JSON list (``scene_id``, ``image_id``,
    ``category_id``, ``bbox`` ``[x, y, w, h]``, ``score``), keeping the
    highest-scoring box per object.

    Returns:
        ``{(scene_id, image_id, category_id): bbox}``.

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: the file is not such a list.
    """
    data = read_json(path)
    if not isinstance(data, list):
        raise DataError(f'{path}: expected a JSON list of detections')
    best: Dict[Tuple[int, int, int], Tuple[float, List[float]]] = {}
    for n, det in enumerate(data):
        try:
            key = (int(det['scene_id']), int(det['image_id']),
                   int(det['category_id']))
            box = [float(v) for v in det['bbox']]
            score = float(det.get('score', 0.0))
        except (TypeError, KeyError, ValueError):
            raise DataError(f'{path}: detection {n} needs scene_id, '
                            'image_id, category_id and bbox') from None
        if len(box) != 4 or box[2] < 0 or box[3] < 0:
            raise DataError(f'{path}: detection {n} has a bad bbox {box}')
        if key not in best or score > best[key][0]:
            best[key] = (score, box)
    return {k: v[1] for k, v in best.items()}


@TRANSFORMS.register_module()
class MaskCenteredCrop(BaseTransform):
    """Crop a square network input around the object, recording its camera.

    Modes:

    * ``'center'``: a fixed window of ``crop_size`` source pixels centred
      on the box, zero-padded past the image border.
    * ``'zoom'``: a square of ``scale * max(w, h)`` source pixels around
      the box (aspect kept).
    * ``'resize'``: the box itself stretched to ``out_size``; ``zoom_xy``
      records both zooms, ``zoom`` is their geometric mean.
    * ``'full'``: the whole image, letterboxed.

    Adds ``img`` (out x out x 3), ``img_shape``, ``crop_center``,
    ``crop_size`` (``out_size / zoom``), ``zoom``, ``crop_K`` and, if a mask
    was loaded, the cropped ``mask``, ``mask_area`` (its pixel count in the
    source image) and ``mask_centroid`` (its mean source pixel ``(x, y)``,
    where not empty). The jitter (uniform in ``+-`` the given fraction)
    applies to every mode but ``'full'``.

    Args:
        out_size: Output width and height (px).
        mode: ``'center'``, ``'zoom'``, ``'resize'`` or ``'full'``.
        crop_size: Source window size of ``'center'`` mode (px).
        scale: Window size over the box's longer side (``'zoom'``).
        center_jitter: Centre shift, fraction of the box size.
        scale_jitter: Relative change of the window size.
        box_source: ``'mask'`` (the loaded mask; the data info's box where
            there is none), ``'bbox'`` (the data info's box) or
            ``'detections'`` (``detections_file``, highest score for the
            object; no ground truth needed).
        detections_file: BOP detection JSON for ``box_source='detections'``.

    Raises:
        ValueError: a bad setting.
        DataError: a bad ``detections_file``; at transform time, no box.
    """

    def __init__(self,
                 out_size: int = 64,
                 mode: str = 'zoom',
                 crop_size: float = 128.0,
                 scale: float = 1.5,
                 center_jitter: float = 0.0,
                 scale_jitter: float = 0.0,
                 box_source: str = 'mask',
                 detections_file: Optional[str] = None) -> None:
        if mode not in _MODES:
            raise ValueError(f'mode must be one of {_MODES}, got {mode!r}')
        if box_source not in _BOX_SOURCES:
            raise ValueError(f'box_source must be one of {_BOX_SOURCES}, '
                             f'got {box_source!r}')
        for key, value in (('out_size', out_size), ('crop_size', crop_size),
                           ('scale', scale)):
            if not value > 0:  # also NaN
                raise ValueError(f'MaskCenteredCrop: {key} must be '
                                 f'positive, got {value!r}')
        if not out_size == int(out_size):
            raise ValueError('MaskCenteredCrop: out_size must be a whole '
                             f'number of pixels, got {out_size!r}')
        if not center_jitter >= 0:
            raise ValueError('MaskCenteredCrop: center_jitter must be >= 0, '
                             f'got {center_jitter!r}')
        if not 0 <= scale_jitter < 1:
            raise ValueError('MaskCenteredCrop: scale_jitter must be in '
                             f'[0, 1), got {scale_jitter!r}')
        self.out_size = int(out_size)
        self.mode = mode
        self.crop_size = float(crop_size)
        self.scale = float(scale)
        self.center_jitter = float(center_jitter)
        self.scale_jitter = float(scale_jitter)
        self.box_source = box_source
        self.detections_file = detections_file
        self.detections: Dict[Tuple[int, int, int], List[float]] = {}
        if box_source == 'detections':
            if not detections_file:
                raise ValueError("box_source='detections' needs "
                                 'detections_file')
            self.detections = load_detections(detections_file)

    def object_box(self, results: dict) -> List[float]:
        """The object's box ``[x, y, w, h]`` from ``box_source``.

        Raises:
            DataError: no detection of the object, an empty mask or box.
        """
        if self.box_source == 'detections':
            key = (int(results['scene_id']), int(results['im_id']),
                   int(results['obj_id']))
            if key not in self.detections:
                raise DataError(f'{self.detections_file}: no detection of '
                                f'object {key[2]} in scene {key[0]}, image '
                                f'{key[1]}')
            return list(self.detections[key])
        mask = results.get('mask')
        if self.box_source == 'mask' and mask is not None:
            if not mask.any():
                raise DataError(f"{results.get('mask_path')}: empty mask")
            return mask_box(mask)
        box = [float(v) for v in results['bbox']]
        if box[2] < 0 or box[3] < 0:
            raise DataError(f"{results.get('img_path')}: empty box {box}")
        return box

    def window(self, box: Sequence[float], jitter: bool = True
               ) -> Tuple[float, float, float, float]:
        """Crop centre and per-axis zoom ``(cx, cy, zoom_x, zoom_y)`` of a
        box (any mode but ``'full'``), jittered from NumPy's global
        generator unless ``jitter=False``."""
        out = self.out_size
        cx, cy = box_center(box)
        # A one-pixel object still gets a window one pixel wide.
        bw, bh = max(box[2], 1.0), max(box[3], 1.0)
        s = 1.0
        if jitter and self.center_jitter > 0:
            cx += np.random.uniform(-1, 1) * self.center_jitter * bw
            cy += np.random.uniform(-1, 1) * self.center_jitter * bh
        if jitter and self.scale_jitter > 0:
            s = 1.0 + np.random.uniform(-1, 1) * self.scale_jitter
        if self.mode == 'center':
            zoom = out / (self.crop_size * s)
            return cx, cy, zoom, zoom
        if self.mode == 'zoom':
            zoom = out / (self.scale * s * max(bw, bh))
            return cx, cy, zoom, zoom
        return cx, cy, out / (bw * s), out / (bh * s)

    def _window(self, results: dict) -> Tuple[float, float, float, float]:
        """Crop centre and per-axis zoom ``(cx, cy, zoom_x, zoom_y)``."""
        if self.mode == 'full':
            h, w = results['img'].shape[:2]
            zoom = self.out_size / max(h, w)
            return (w - 1) / 2.0, (h - 1) / 2.0, zoom, zoom
        return self.window(self.object_box(results))

    def record_window(self, results: dict, cx: float, cy: float, zx: float,
                      zy: float) -> Tuple[float, float]:
        """Write the crop's geometry into ``results`` and return the
        window's origin ``(x0, y0)`` in source pixels."""
        out = self.out_size
        x0, y0 = window_origin(cx, cy, zx, zy, out)
        zoom = math.sqrt(zx * zy)
        results['img_shape'] = (out, out)
        results['crop_center'] = (float(cx), float(cy))
        results['zoom'] = float(zoom)
        results['crop_size'] = float(out / zoom)
        results['crop_K'] = crop_camera_matrix(results['cam_K'], x0, y0, zx,
                                               zy)
        if self.mode == 'resize':
            results['zoom_xy'] = (float(zx), float(zy))
        return x0, y0

    def transform(self, results: dict) -> dict:
        """Crop ``results['img']`` (and ``mask``) and record the camera."""
        out = self.out_size
        cx, cy, zx, zy = self._window(results)
        x0, y0 = self.record_window(results, cx, cy, zx, zy)
        results['img'] = warp_crop(results['img'], x0, y0, zx, zy, out)
        if results.get('mask') is not None:
            ys, xs = np.nonzero(results['mask'])
            results['mask_area'] = float(len(xs))
            if len(xs):
                results['mask_centroid'] = (float(xs.mean()),
                                            float(ys.mean()))
            mask = warp_crop(results['mask'].astype(np.uint8), x0, y0, zx,
                             zy, out, cv2.INTER_NEAREST)
            results['mask'] = mask.astype(bool)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(out_size={self.out_size}, '
                f'mode={self.mode!r}, box_source={self.box_source!r})')

