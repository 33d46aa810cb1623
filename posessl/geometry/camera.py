"""Pinhole projection and the camera matrix of a crop."""
from typing import Optional, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]


def project_points(points: ArrayLike, R: ArrayLike, t: ArrayLike,
                   K: ArrayLike) -> ArrayLike:
    """Project model points to pixels: ``u ~ K (R x + t)``.

    Works on numpy arrays or torch tensors, batched or not:
    ``points`` (..., N, 3), ``R`` (..., 3, 3), ``t`` (..., 3),
    ``K`` (..., 3, 3).

    Returns:
        Pixel coordinates (..., N, 2) in the image whose camera is ``K``
        (pixel centres at integer coordinates, OpenCV's convention).
    """
    if isinstance(points, torch.Tensor):
        cam = points @ R.transpose(-1, -2) + t.unsqueeze(-2)
        uvw = cam @ K.transpose(-1, -2)
    else:
        cam = points @ np.swapaxes(R, -1, -2) + np.expand_dims(t, -2)
        uvw = cam @ np.swapaxes(K, -1, -2)
    return uvw[..., :2] / uvw[..., 2:3]


def crop_camera_matrix(K: np.ndarray, x0: float, y0: float, zoom: float,
                       zoom_y: Optional[float] = None) -> np.ndarray:
    """Camera matrix ``S K`` of the crop ``u' = zoom (u - x0)``,
    ``v' = zoom_y (v - y0)`` (``zoom_y`` defaults to ``zoom``).

    Args:
        K: (3, 3) camera matrix of the source image.
        x0, y0: source pixel that lands on the crop's pixel (0, 0) (may be
            negative or fractional).
        zoom, zoom_y: output pixels per source pixel along x and y.
    """
    zy = zoom if zoom_y is None else zoom_y
    S = np.array([[zoom, 0.0, -zoom * x0], [0.0, zy, -zy * y0],
                  [0.0, 0.0, 1.0]])
    return S @ np.asarray(K, dtype=np.float64)
