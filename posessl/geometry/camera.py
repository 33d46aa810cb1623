"""Pinhole projection and the camera matrix of a crop."""
from typing import Union

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


def crop_camera_matrix(K: np.ndarray, x0: float, y0: float,
                       zoom: float) -> np.ndarray:
    """Camera matrix of a crop whose top-left corner is ``(x0, y0)``.

    The crop takes source pixel ``(x0, y0)`` to output pixel ``(0, 0)`` and
    scales by ``zoom`` (output pixels per source pixel), i.e.
    ``u' = zoom * (u - x0)``. Then ``K' = S K`` with
    ``S = [[zoom, 0, -zoom x0], [0, zoom, -zoom y0], [0, 0, 1]]``.

    Args:
        K: (3, 3) camera matrix of the source image.
        x0, y0: top-left corner of the crop in source pixels (may be
            negative or fractional).
        zoom: output pixels per source pixel.
    """
    S = np.array([[zoom, 0.0, -zoom * x0], [0.0, zoom, -zoom * y0],
                  [0.0, 0.0, 1.0]])
    return S @ np.asarray(K, dtype=np.float64)
