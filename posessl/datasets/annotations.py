"""Parsers of annotation values; errors name the file (``source``) and
the entry (``where``)."""
import os
from typing import Any, Dict, List, Tuple

import numpy as np

from posessl.errors import DataError

__all__ = ['check_pose', 'check_translation_units', 'parse_cam_K',
           'list_frames', 'image_shape']


def check_pose(R: Any, t: Any, source: str, where: str,
               rotation_name: str = 'cam_R_m2c'
               ) -> Tuple[np.ndarray, np.ndarray]:
    """Parse a row-major rotation (9 numbers) and a translation (3, mm).

    Raises:
        DataError: wrong sizes, non-finite values, or not a rotation to
            within 5 % (real LINEMOD rotations are orthonormal to 1 %).
    """
    try:
        R = np.asarray(R, dtype=np.float64).reshape(3, 3)
        t = np.asarray(t, dtype=np.float64).reshape(3)
    except (TypeError, ValueError):
        raise DataError(f'{source}: {where}: cam_R_m2c must have 9 and '
                        'cam_t_m2c 3 numbers') from None
    if not (np.all(np.isfinite(R)) and np.all(np.isfinite(t))):
        raise DataError(f'{source}: {where}: the pose has non-finite values')
    if (np.abs(R @ R.T - np.eye(3)).max() > 0.05
            or abs(np.linalg.det(R) - 1.0) > 0.05):
        raise DataError(f'{source}: {where}: {rotation_name} is not a '
                        'rotation')
    return R, t


def check_translation_units(records: List[dict], source: str) -> None:
    """Refuse translations that look like metres (median depth < 10)."""
    if not records:
        return
    depth = np.median([abs(r['gt_t'][2]) for r in records])
    if depth < 10.0:
        raise DataError(f'{source}: median object depth is {depth:g}, '
                        'which looks like metres; millimetres are expected')


def parse_cam_K(values: Any, source: str, where: str) -> np.ndarray:
    """Parse a row-major 3x3 camera matrix (DataError if it is none)."""
    try:
        K = np.asarray(values, dtype=np.float64).reshape(3, 3)
    except (TypeError, ValueError):
        raise DataError(f'{source}: {where}: cam_K must have 9 numbers'
                        ) from None
    if not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise DataError(f'{source}: {where}: cam_K is not a camera matrix')
    return K


def list_frames(folder: str, what: str) -> Dict[int, str]:
    """``{frame id: path}`` of the images in ``folder`` named by their
    (zero-padded) frame id; other files are ignored."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f'{folder}: {what} folder not found')
    frames: Dict[int, str] = {}
    for name in os.listdir(folder):
        stem, ext = os.path.splitext(name)
        if ext.lower() in ('.png', '.jpg', '.jpeg', '.tif', '.bmp') \
                and stem.isdigit():
            frames[int(stem)] = os.path.join(folder, name)
    return frames


def image_shape(path: str) -> Tuple[int, int]:
    """``(h, w)`` of an image file (DataError if it cannot be read)."""
    import cv2
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DataError(f'{path}: cannot read the image')
    return int(img.shape[0]), int(img.shape[1])
