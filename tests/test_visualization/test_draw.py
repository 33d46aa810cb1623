"""Pose overlays: drawn pixels checked against the projected geometry."""
import numpy as np
import pytest
from scipy.spatial import ConvexHull
from scipy.spatial.transform import Rotation

from posessl.geometry import project_points
from posessl.visualization import (
    BOX_EDGES,
    GT_COLOR,
    PRED_COLOR,
    box_corners,
    draw_polyline,
    draw_pose,
)
from tests.cameras import LINEMOD_K

K = LINEMOD_K


def ape_like_points():
    rng = np.random.default_rng(0)
    return rng.normal(size=(800, 3)) * np.array([20.0, 20.0, 25.0])


def pose():
    R = Rotation.from_euler('xyz', [30, -20, 50], degrees=True).as_matrix()
    return R, np.array([20.0, -10.0, 600.0])


def drawn(image, color):
    ys, xs = np.nonzero((image == np.array(color, np.uint8)).all(-1))
    return np.stack([xs, ys], 1).astype(float)


def segment_distance(p, a, b):
    """Distance of points p (M, 2) to the segment a-b."""
    d = b - a
    s = np.clip(((p - a) @ d) / max(d @ d, 1e-12), 0, 1)
    return np.linalg.norm(p - (a + s[:, None] * d), axis=1)


def inside_hull(hull_points, query, tol):
    """Whether each query point is inside the convex hull of hull_points,
    or at most ``tol`` pixels outside it (signed facet distances)."""
    eq = ConvexHull(hull_points).equations  # unit normals: n.x + b <= 0
    return (query @ eq[:, :2].T + eq[:, 2]).max(1) <= tol


def test_polyline_hand_cases():
    img = np.zeros((10, 12, 3), np.uint8)
    draw_polyline(img, [[2, 3], [7, 3]], (1, 2, 3), thickness=1,
                  closed=False)
    px = drawn(img, (1, 2, 3))
    assert sorted(map(tuple, px)) == [(x, 3.0) for x in range(2, 8)]
    img[:] = 0
    draw_polyline(img, [[0, 0], [4, 4]], (9, 9, 9), thickness=1,
                  closed=False)
    assert sorted(map(tuple, drawn(img, (9, 9, 9)))) == [
        (float(i), float(i)) for i in range(5)]
    img[:] = 0
    draw_polyline(img, [[2, 5], [6, 5]], (5, 5, 5), thickness=3,
                  closed=False)
    px = drawn(img, (5, 5, 5))
    assert set(px[:, 1]) == {4.0, 5.0, 6.0} and len(px) == 7 * 3
    # a closed triangle: three edges, every vertex drawn
    img[:] = 0
    tri = np.array([[1, 1], [9, 1], [1, 8]], float)
    draw_polyline(img, tri, (7, 7, 7), thickness=1)
    px = drawn(img, (7, 7, 7))
    for v in tri:
        assert (np.abs(px - v).sum(1) == 0).any()
    assert (px[:, 0] == 1).sum() == 8 and (px[:, 1] == 1).sum() == 9


def test_far_and_non_finite_segments_are_clipped():
    img = np.zeros((20, 20, 3), np.uint8)
    draw_polyline(img, [[-1e9, 5], [1e9, 5]], (3, 3, 3), thickness=1,
                  closed=False)
    assert sorted(drawn(img, (3, 3, 3))[:, 0]) == list(range(20))
    img[:] = 0
    draw_polyline(img, [[-50, -50], [-10, -40]], (3, 3, 3), closed=False)
    draw_polyline(img, [[np.nan, 1], [5, 5]], (3, 3, 3), closed=False)
    assert not img.any()


def test_gt_box_encloses_projected_model_points():
    points = ape_like_points()
    R, t = pose()
    img = draw_pose(np.zeros((480, 640, 3), np.uint8), points, R, t, K,
                    color=GT_COLOR, thickness=1, draw_outline=False)
    px = drawn(img, GT_COLOR)
    corners = project_points(box_corners(points), R, t, K)
    # every drawn pixel lies on a projected box edge (within rounding) ...
    dist = np.min([segment_distance(px, corners[i], corners[j])
                   for i, j in BOX_EDGES], axis=0)
    assert dist.max() <= np.sqrt(0.5) + 1e-9
    # ... every corner is drawn ...
    for c in corners:
        assert np.abs(px - np.rint(c)).max(1).min() == 0
    # ... and the model's projected points fall inside the drawn box
    uv = project_points(points, R, t, K)
    assert inside_hull(px, uv, tol=0.75).all()
    # the edges are continuous: consecutive samples at most 1 px apart
    i, j = BOX_EDGES[0]
    on_edge = px[segment_distance(px, corners[i], corners[j]) < 0.71]
    assert len(on_edge) >= np.abs(corners[i] - corners[j]).max()


def test_outline_is_the_hull_of_projected_points():
    points = ape_like_points()
    R, t = pose()
    img = draw_pose(np.zeros((480, 640, 3), np.uint8), points, R, t, K,
                    color=PRED_COLOR, thickness=1, draw_box=False)
    px = drawn(img, PRED_COLOR)
    uv = project_points(points, R, t, K)
    hull = uv[ConvexHull(uv).vertices]
    dist = np.min([segment_distance(px, hull[k], hull[(k + 1) % len(hull)])
                   for k in range(len(hull))], axis=0)
    assert dist.max() <= np.sqrt(0.5) + 1e-9
    assert inside_hull(px, uv, tol=0.75).all()


def test_prediction_drawn_over_ground_truth():
    points = ape_like_points()
    R, t = pose()
    base = np.full((480, 640, 3), 40, np.uint8)
    gt = draw_pose(base, points, R, t, K, color=GT_COLOR)
    assert (base == 40).all()  # drawn on a copy
    both = draw_pose(gt, points, R, t, K, color=PRED_COLOR)
    # the same pose in red covers the green exactly
    np.testing.assert_array_equal(drawn(both, PRED_COLOR),
                                  drawn(gt, GT_COLOR))
    assert len(drawn(both, GT_COLOR)) == 0
    # a prediction 80 mm to the side leaves the GT drawing visible
    both = draw_pose(gt, points, R, t + [80.0, 0, 0], K, color=PRED_COLOR)
    assert len(drawn(both, GT_COLOR)) > 0.8 * len(drawn(gt, GT_COLOR))
    assert drawn(both, PRED_COLOR)[:, 0].mean() > drawn(gt, GT_COLOR)[:,
                                                                      0].mean()


@pytest.mark.parametrize('t', [[0.0, 0.0, -600.0], [np.nan, 0.0, 600.0]])
def test_behind_camera_or_nan_draws_nothing(t):
    R, _ = pose()
    img = draw_pose(np.zeros((48, 64, 3), np.uint8), ape_like_points(), R,
                    np.array(t), K)
    assert not img.any()


def test_real_ape_model(lmo_sample_root):
    """The real ape model at its annotated pose in a real frame."""
    import json

    from posessl.structures.bop_models import load_model_points
    points = load_model_points(
        str(lmo_sample_root / 'models' / 'obj_000001.ply'), 1000)
    ann = next(a for a in json.loads(
        (lmo_sample_root / 'test' / '000002' / 'scene_gt.json').read_text())
        ['3'] if a['obj_id'] == 1)
    R = np.array(ann['cam_R_m2c']).reshape(3, 3)
    t = np.array(ann['cam_t_m2c'])
    img = draw_pose(np.zeros((480, 640, 3), np.uint8), points, R, t, K,
                    thickness=1, draw_outline=False)
    px = drawn(img, GT_COLOR)
    uv = project_points(points.astype(float), R, t, K)
    assert inside_hull(px, uv, tol=0.75).all()
    info = json.loads((lmo_sample_root / 'test' / '000002' /
                       'scene_gt_info.json').read_text())['3']
    x, y, w, h = info[0]['bbox_obj']  # the ape is the first annotation
    # the model's projection spans the annotated box (to a few pixels)
    np.testing.assert_allclose([uv[:, 0].min(), uv[:, 1].min()], [x, y],
                               atol=3)
    np.testing.assert_allclose([uv[:, 0].max(), uv[:, 1].max()],
                               [x + w, y + h], atol=3)
