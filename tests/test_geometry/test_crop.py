"""Crop geometry: boxes, the window origin, the crop's camera and the warp,
against hand-computed cases."""
import cv2
import numpy as np
import pytest

from posessl.geometry import (
    box_center,
    crop_camera_matrix,
    mask_box,
    project_points,
    warp_crop,
    window_origin,
)
from tests.cameras import LINEMOD_K


def test_mask_box_and_centre():
    mask = np.zeros((10, 12), bool)
    mask[2:5, 3:9] = True  # rows 2..4, columns 3..8
    assert mask_box(mask) == [3.0, 2.0, 5.0, 2.0]
    assert box_center(mask_box(mask)) == (5.5, 3.0)
    with pytest.raises(ValueError, match='empty mask'):
        mask_box(np.zeros((4, 4), bool))


def test_window_origin_puts_the_centre_on_the_middle_pixel():
    # 64 px out, zoom 0.5 / 0.25: the middle (31.5) is 63 / 126 source px
    # from the origin
    assert window_origin(100.0, 80.0, 0.5, 0.25, 64) == (37.0, -46.0)
    x0, y0 = window_origin(12.3, 45.6, 0.7, 0.7, 33)
    assert 0.7 * (12.3 - x0) == pytest.approx(16.0)
    assert 0.7 * (45.6 - y0) == pytest.approx(16.0)


def test_crop_camera_matrix_with_two_zooms_maps_source_pixels():
    """A point's crop pixel is ``(zx (u - x0), zy (v - y0))`` of its source
    pixel; ``zoom_y`` omitted is ``zoom``."""
    x0, y0, zx, zy = 210.5, 140.25, 0.4, 0.55
    K = crop_camera_matrix(LINEMOD_K, x0, y0, zx, zy)
    pts = np.array([[10.0, -20.0, 600.0], [-35.0, 5.0, 900.0]])
    uv = project_points(pts, np.eye(3), np.zeros(3), LINEMOD_K)
    np.testing.assert_allclose(
        project_points(pts, np.eye(3), np.zeros(3), K),
        np.c_[zx * (uv[:, 0] - x0), zy * (uv[:, 1] - y0)], atol=1e-10)
    np.testing.assert_array_equal(crop_camera_matrix(LINEMOD_K, x0, y0, zx),
                                  crop_camera_matrix(LINEMOD_K, x0, y0, zx,
                                                     zx))


def test_warp_crop_samples_the_source_at_the_mapped_pixels():
    """Nearest neighbour on a coordinate image: output pixel (i, j) holds
    source pixel (x0 + j / zx, y0 + i / zy); outside the image, zero."""
    v, u = np.mgrid[0:20, 0:30].astype(np.float32)
    img = np.stack([u + 1, v + 1], -1)  # +1: zero marks the border fill
    out = warp_crop(img, 24.0, -2.0, 1.0, 0.5, 8, cv2.INTER_NEAREST)
    assert out.shape == (8, 8, 2)
    # row i is source row -2 + 2 i: row 0 lies above the image
    np.testing.assert_array_equal(out[1, :6, 0], np.arange(24, 30) + 1)
    np.testing.assert_array_equal(out[1:, 0, 1], np.arange(0, 14, 2) + 1)
    assert (out[:, 6:] == 0).all() and (out[0] == 0).all()


def test_warp_crop_block_average_matches_mean():
    # zoom 1/4 with an aligned window: each output pixel is close to the
    # mean of a 4x4 block (block average then identity warp)
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (64, 64)).astype(np.float32)
    out = warp_crop(img, 1.5, 1.5, 0.25, 0.25, 16)
    blocks = img.reshape(16, 4, 16, 4).mean(axis=(1, 3))
    np.testing.assert_allclose(out, blocks, atol=1e-3)
