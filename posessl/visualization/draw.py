"""Pose overlays in plain numpy: a model's projected 3D bounding box and
outline. Images are RGB ``uint8`` (H, W, 3); colours are RGB triples."""
from typing import Optional, Sequence, Tuple

import numpy as np

from posessl.geometry import project_points

__all__ = [
    'GT_COLOR', 'PRED_COLOR', 'BOX_EDGES', 'box_corners', 'outline_polygon',
    'draw_polyline', 'draw_pose'
]

#: Ground truth is drawn in green, predictions in red (RGB).
GT_COLOR: Tuple[int, int, int] = (0, 255, 0)
PRED_COLOR: Tuple[int, int, int] = (255, 0, 0)

#: The 12 edges of the box whose corners :func:`box_corners` returns
#: (corner ``i`` has x from bit 2, y from bit 1, z from bit 0 of ``i``).
BOX_EDGES: Tuple[Tuple[int, int], ...] = (
    (0, 1), (2, 3), (4, 5), (6, 7),  # along z
    (0, 2), (1, 3), (4, 6), (5, 7),  # along y
    (0, 4), (1, 5), (2, 6), (3, 7))  # along x

#: Points closer to the camera plane than this (mm) are not drawn.
_NEAR_MM = 1e-3


def box_corners(points: np.ndarray) -> np.ndarray:
    """The 8 corners (8, 3) of the axis-aligned box around ``points``."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    lo, hi = pts.min(0), pts.max(0)
    bits = (np.arange(8)[:, None] >> np.array([2, 1, 0])) & 1
    return np.where(bits == 1, hi, lo)


def outline_polygon(uv: np.ndarray) -> np.ndarray:
    """The convex hull (M, 2) of the finite points of ``uv`` (N, 2);
    collinear points give their two extreme points, fewer than 3 themselves.
    """
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    uv = uv[np.isfinite(uv).all(1)]
    if len(uv) < 3:
        return uv
    from scipy.spatial import ConvexHull, QhullError
    try:
        return uv[ConvexHull(uv).vertices]
    except QhullError:  # all points on one line
        axis = int(np.ptp(uv, 0).argmax())
        return uv[[uv[:, axis].argmin(), uv[:, axis].argmax()]]


def _clip_segment(p0: np.ndarray, p1: np.ndarray, lo: float, hi_x: float,
                  hi_y: float) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """Liang-Barsky clipping of a segment to ``[lo, hi_x] x [lo, hi_y]``."""
    d = p1 - p0
    t0, t1 = 0.0, 1.0
    for p, q in ((-d[0], p0[0] - lo), (d[0], hi_x - p0[0]),
                 (-d[1], p0[1] - lo), (d[1], hi_y - p0[1])):
        if p == 0:
            if q < 0:
                return None
            continue
        r = q / p
        if p < 0:
            t0 = max(t0, r)
        else:
            t1 = min(t1, r)
        if t0 > t1:
            return None
    return p0 + t0 * d, p0 + t1 * d


def _draw_segment(image: np.ndarray, p0: np.ndarray, p1: np.ndarray,
                  color: np.ndarray, thickness: int) -> None:
    """Sample the clipped segment at least once per pixel, widened to a
    ``thickness`` square brush."""
    h, w = image.shape[:2]
    if not (np.isfinite(p0).all() and np.isfinite(p1).all()):
        return
    clipped = _clip_segment(p0, p1, -thickness, w - 1 + thickness,
                            h - 1 + thickness)
    if clipped is None:
        return
    a, b = clipped
    n = int(np.ceil(np.abs(b - a).max())) + 1
    s = np.linspace(0.0, 1.0, n)[:, None]
    pix = np.rint(a + s * (b - a)).astype(np.int64)  # (n, 2) x, y
    r = np.arange(-((thickness - 1) // 2), thickness // 2 + 1)
    off = np.stack(np.meshgrid(r, r), -1).reshape(-1, 2)
    pix = (pix[:, None, :] + off[None]).reshape(-1, 2)
    keep = ((pix[:, 0] >= 0) & (pix[:, 0] < w) & (pix[:, 1] >= 0) &
            (pix[:, 1] < h))
    pix = pix[keep]
    image[pix[:, 1], pix[:, 0]] = color


def draw_polyline(image: np.ndarray, uv: np.ndarray,
                  color: Sequence[int], thickness: int = 2,
                  closed: bool = True) -> np.ndarray:
    """Draw the segments joining ``uv`` (M, 2) pixel points, in place.

    Pixel centres are at integer coordinates; a segment covers the pixels
    nearest to its points, widened to a ``thickness`` square brush.
    Non-finite points and the parts outside the image are skipped.

    Returns:
        ``image``.
    """
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    col = np.asarray(color, dtype=image.dtype)
    count = len(uv) if closed and len(uv) > 2 else len(uv) - 1
    for i in range(max(0, count)):
        _draw_segment(image, uv[i], uv[(i + 1) % len(uv)], col, thickness)
    return image


def draw_pose(image: np.ndarray, points: np.ndarray, R: np.ndarray,
              t: np.ndarray, K: np.ndarray,
              color: Sequence[int] = GT_COLOR, thickness: int = 2,
              draw_box: bool = True, draw_outline: bool = True,
              copy: bool = True) -> np.ndarray:
    """Overlay a pose: the model's projected 3D box and its outline.

    Args:
        image: RGB image (H, W, 3) uint8, in the camera of ``K``.
        points: (N, 3) model points (mm); the box is their axis-aligned
            extent in the model frame.
        R, t: The pose, ``x_cam = R x + t`` (t in mm).
        K: (3, 3) camera matrix of ``image``.
        color: RGB colour.
        thickness: Line width in pixels.
        draw_box: Draw the 12 box edges.
        draw_outline: Draw the convex hull of the projected points.
        copy: Draw on a copy (else in place).

    Returns:
        The image with the overlay. Points behind the camera, and box
        edges with a corner behind it, are left out; a non-finite pose
        draws nothing.

    Raises:
        ValueError: ``image`` is not (H, W, 3).
    """
    img = np.array(image, copy=True) if copy else image
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'draw_pose: image must be (H, W, 3), got '
                         f'{img.shape}')
    R = np.asarray(R, dtype=np.float64).reshape(3, 3)
    t = np.asarray(t, dtype=np.float64).reshape(3)
    K = np.asarray(K, dtype=np.float64).reshape(3, 3)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if not (np.isfinite(R).all() and np.isfinite(t).all()) or not len(pts):
        return img
    if draw_outline:
        front = pts[(pts @ R[2] + t[2]) > _NEAR_MM]
        if len(front):
            hull = outline_polygon(project_points(front, R, t, K))
            draw_polyline(img, hull, color, thickness, closed=True)
    if draw_box:
        corners = box_corners(pts)
        depth = corners @ R[2] + t[2]
        uv = project_points(corners, R, t, K)
        for i, j in BOX_EDGES:
            if depth[i] > _NEAR_MM and depth[j] > _NEAR_MM:
                draw_polyline(img, uv[[i, j]], color, thickness,
                              closed=False)
    return img
