"""Independent reference computations for the synthetic-data tests."""
import numpy as np
from scipy.spatial.distance import cdist


def brute_force_diameter(vertices: np.ndarray) -> float:
    """Largest distance over all vertex pairs (blocked, every pair)."""
    v = np.asarray(vertices, dtype=np.float64)
    best = 0.0
    for start in range(0, len(v), 2048):
        d = cdist(v[start:start + 2048], v, 'sqeuclidean')
        best = max(best, float(d.max()))
    return float(np.sqrt(best))


EDGE_SLACK = 1.5
"""How far (px) the first covered pixel centre may lie inside the projected
box. Pixel centres are sampled, so at a silhouette's extreme vertex (a
wedge tip) the nearest covered centre can be just over 1 px away; measured
on the tiny set: median 0.5-0.7 px, 99th percentile 1.16 px, max 1.31 px."""


def axis_angle_matrix(axis, angle: float) -> np.ndarray:
    """Rotation by ``angle`` (radians) about ``axis`` (Rodrigues)."""
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K
