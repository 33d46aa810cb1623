"""Box keypoints, crop coordinates and PnP, against hand-computed values
and OpenCV's projection."""
import cv2
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from posessl.geometry import crop_camera_matrix, project_points
from projects.keypoint_pnp.keypoint_pnp import (
    box_keypoints,
    crop_coords_to_pixels,
    pixels_to_crop_coords,
    solve_pnp,
)
from tests.cameras import LINEMOD_K

#: Three points whose box is x in [-1, 4], y in [-2, 5], z in [0, 3].
POINTS = np.array([[1.0, 2.0, 3.0], [-1.0, 5.0, 0.0], [4.0, -2.0, 1.0]])
#: Its corners by hand, corner k = bits (k >> 2, k >> 1, k) & 1 of
#: (x, y, z) choosing the maximum; then the centre.
BOX = np.array([[-1, -2, 0], [-1, -2, 3], [-1, 5, 0], [-1, 5, 3],
                [4, -2, 0], [4, -2, 3], [4, 5, 0], [4, 5, 3],
                [1.5, 1.5, 1.5]])


def test_box_keypoints_are_the_hand_computed_corners_and_centre():
    np.testing.assert_array_equal(box_keypoints(POINTS), BOX)
    as_torch = box_keypoints(torch.as_tensor(POINTS, dtype=torch.float32))
    assert as_torch.dtype == torch.float32
    np.testing.assert_array_equal(as_torch.numpy(), BOX)


def test_box_keypoints_batched_equal_one_at_a_time():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(2, 3, 50, 3))
    batched = box_keypoints(torch.as_tensor(points))
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(batched[i, j].numpy(),
                                          box_keypoints(points[i, j]))
    # every model point lies inside the box the corners span
    low, high = batched[..., :8, :].amin(-2), batched[..., :8, :].amax(-2)
    assert (torch.as_tensor(points) >= low[..., None, :]).all()
    assert (torch.as_tensor(points) <= high[..., None, :]).all()


def test_box_keypoints_refuse_bad_shapes():
    with pytest.raises(ValueError, match=r'\(\.\.\., N, 3\)'):
        box_keypoints(np.zeros((4, 2)))
    with pytest.raises(ValueError, match='N >= 1'):
        box_keypoints(np.zeros((0, 3)))


def test_crop_coords_by_hand_and_round_trip():
    out_size = (48, 64)  # (H, W): centre pixel (31.5, 23.5)
    pixels = torch.tensor([[31.5, 23.5], [63.5, 47.5], [-0.5, 11.5]],
                          dtype=torch.float64)
    coords = pixels_to_crop_coords(pixels, out_size)
    expected = torch.tensor([[0.0, 0.0], [0.5, 0.5], [-0.5, -0.25]],
                            dtype=torch.float64)
    torch.testing.assert_close(coords, expected, rtol=0, atol=1e-15)
    torch.testing.assert_close(crop_coords_to_pixels(coords, out_size),
                               pixels, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match='out_size'):
        pixels_to_crop_coords(pixels, (64, ))


def _pose(seed: int):
    R = Rotation.random(random_state=seed).as_matrix()
    rng = np.random.default_rng(seed)
    t = np.array([rng.uniform(-100, 100), rng.uniform(-80, 80),
                  rng.uniform(600, 1200)])
    return R, t


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_solve_pnp_recovers_the_pose_from_exact_projections(seed):
    R, t = _pose(seed)
    keypoints = box_keypoints(
        np.random.default_rng(seed).uniform(-40, 40, (200, 3)))
    K = crop_camera_matrix(LINEMOD_K, 280.0, 190.0, 0.6)
    pixels = project_points(keypoints, R, t, K)
    # project_points agrees with OpenCV's projection
    cv_pixels = cv2.projectPoints(keypoints, cv2.Rodrigues(R)[0], t, K,
                                  None)[0][:, 0]
    np.testing.assert_allclose(pixels, cv_pixels, rtol=0, atol=1e-9)
    R_pnp, t_pnp = solve_pnp(keypoints, pixels, K)
    np.testing.assert_allclose(R_pnp, R, atol=1e-6)
    np.testing.assert_allclose(t_pnp, t, rtol=1e-6)


def test_solve_pnp_gives_nan_for_non_finite_input_and_refuses_bad_shapes():
    R, t = _pose(3)
    keypoints = box_keypoints(np.array([[-30.0, -20, -15], [30, 20, 15]]))
    pixels = project_points(keypoints, R, t, LINEMOD_K)
    for bad in (np.nan, np.inf):
        broken = pixels.copy()
        broken[4, 1] = bad
        R_pnp, t_pnp = solve_pnp(keypoints, broken, LINEMOD_K)
        assert np.isnan(R_pnp).all() and np.isnan(t_pnp).all()
    R_pnp, t_pnp = solve_pnp(np.full_like(keypoints, np.nan), pixels,
                             LINEMOD_K)
    assert np.isnan(R_pnp).all() and np.isnan(t_pnp).all()
    with pytest.raises(ValueError, match='M >= 4'):
        solve_pnp(keypoints[:3], pixels[:3], LINEMOD_K)
    with pytest.raises(ValueError, match=r'\(M, 2\) image points'):
        solve_pnp(keypoints, pixels[:5], LINEMOD_K)

