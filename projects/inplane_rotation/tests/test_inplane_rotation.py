"""InPlaneRotation: the warped crop and the turned label agree exactly."""
import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from posessl.geometry import project_points
from posessl.registry import TRANSFORMS
from projects.inplane_rotation.inplane_rotation import (
    InPlaneRotation,
    view_ray_homography,
)
from tests.cameras import LINEMOD_K


def _crop_K(x0: float, y0: float, zoom: float) -> np.ndarray:
    """LINEMOD's camera cropped at (x0, y0) with ``zoom``."""
    K = LINEMOD_K
    A = np.array([[zoom, 0, -zoom * x0], [0, zoom, -zoom * y0], [0, 0, 1]])
    return A @ K


def _points() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(-40, 40, size=(200, 3))


@pytest.mark.parametrize('where', [(40.0, 30.0), (500.0, 400.0)])
def test_turned_label_projects_where_the_warp_moves_the_points(where):
    """Projecting the model with the turned pose equals warping the original
    projections by the homography: the label follows the image exactly,
    also far from the principal point."""
    K = _crop_K(*where, zoom=0.5)
    R = Rotation.from_euler('xyz', [20, -35, 60], degrees=True).as_matrix()
    # the object sits on the ray through the crop centre, 800 mm away
    ray = np.linalg.solve(K, [31.5, 31.5, 1.0])
    t = 800.0 * ray / np.linalg.norm(ray)
    X = _points()
    for angle in np.radians([-90.0, -10.0, 33.0, 180.0]):
        Q, H = view_ray_homography(K, (64, 64), angle)
        np.testing.assert_allclose(Q @ Q.T, np.eye(3), atol=1e-12)
        uv = project_points(X, R, t, K)
        moved = np.c_[uv, np.ones(len(uv))] @ H.T
        moved = moved[:, :2] / moved[:, 2:]
        turned = project_points(X, Q @ R, Q @ t, K)
        np.testing.assert_allclose(turned, moved, atol=1e-6)
        # the crop centre is a fixed point; the object stays on its ray
        c = H @ [31.5, 31.5, 1.0]
        np.testing.assert_allclose(c[:2] / c[2], [31.5, 31.5], atol=1e-9)
        np.testing.assert_allclose(Q @ t, t, atol=1e-9)


def test_on_the_optical_axis_the_warp_is_a_plain_rotation():
    K = np.array([[100.0, 0, 31.5], [0, 100.0, 31.5], [0, 0, 1]])
    _, H = view_ray_homography(K, (64, 64), np.radians(30.0))
    # image y points down: a turn about +z (into the scene) is clockwise
    # on screen, which OpenCV's getRotationMatrix2D calls -30 degrees
    expected = cv2.getRotationMatrix2D((31.5, 31.5), -30.0, 1.0)
    np.testing.assert_allclose(H[:2] / H[2, 2], expected, atol=1e-12)
    np.testing.assert_allclose(H[2], [0, 0, 1], atol=1e-12)


def _results(K: np.ndarray) -> dict:
    img = np.zeros((64, 64, 3), np.uint8)
    mask = np.zeros((64, 64), bool)
    img[20:44, 26:38] = (200, 100, 50)
    mask[20:44, 26:38] = True
    return dict(img=img, mask=mask, crop_K=K, mask_area=288.0,
                gt_R=np.eye(3), gt_t=np.array([0.0, 0.0, 900.0]))


def test_zero_turn_changes_nothing_and_turns_compose():
    K = _crop_K(200.0, 150.0, 0.8)
    base = _results(K)
    same = InPlaneRotation.rotate(_results(K), 0.0)
    np.testing.assert_array_equal(same['img'], base['img'])
    np.testing.assert_array_equal(same['mask'], base['mask'])
    np.testing.assert_allclose(same['gt_R'], np.eye(3), atol=1e-15)
    a = InPlaneRotation.rotate(_results(K), np.radians(25.0))
    assert a['inplane_angle'] == pytest.approx(25.0)
    assert a['mask_area'] == 288.0 and np.array_equal(a['crop_K'], K)
    angle = np.degrees(np.arccos((np.trace(a['gt_R']) - 1) / 2))
    assert angle == pytest.approx(25.0)
    b = InPlaneRotation.rotate(a, np.radians(-25.0))  # in place
    np.testing.assert_allclose(b['gt_R'], np.eye(3), atol=1e-12)
    np.testing.assert_allclose(b['gt_t'], base['gt_t'], atol=1e-9)


def test_a_quarter_turn_turns_the_mask():
    """A 24 x 12 bar through the centre of an on-axis crop is 12 x 24 after
    a quarter turn (nearest-neighbour mask, so pixel-exact)."""
    K = np.array([[100.0, 0, 31.5], [0, 100.0, 31.5], [0, 0, 1]])
    out = InPlaneRotation.rotate(_results(K), np.radians(90.0))
    ys, xs = np.nonzero(out['mask'])
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (26, 37, 20, 43)
    assert out['mask'].sum() == 288
    # the colour moved with the mask; the uncovered corners are black
    assert np.all(out['img'][out['mask']] == (200, 100, 50))
    assert np.all(out['img'][0, 0] == 0)


def test_random_angles_stay_in_range_and_bad_settings_are_named():
    t = TRANSFORMS.build(dict(type='InPlaneRotation', max_angle=20.0))
    np.random.seed(0)
    angles = [t(_results(_crop_K(100, 100, 1.0)))['inplane_angle']
              for _ in range(200)]
    assert max(np.abs(angles)) <= 20.0 and np.std(angles) > 8.0
    off = InPlaneRotation(prob=0.0)
    assert 'inplane_angle' not in off(_results(_crop_K(0, 0, 1.0)))
    with pytest.raises(ValueError, match='max_angle must be in'):
        InPlaneRotation(max_angle=270)
    with pytest.raises(KeyError, match='after MaskCenteredCrop'):
        InPlaneRotation()(dict(img=np.zeros((4, 4, 3), np.uint8)))
