"""SITE translation encoding/decoding for every crop mode."""
import math

import numpy as np
import pytest
import torch

from posessl.geometry import (
    crop_camera_matrix,
    crop_center_ray,
    site_decode,
    site_encode,
)
from tests.cameras import LINEMOD_K

K = LINEMOD_K
WIDTH, HEIGHT, OUT = 640, 480, 64
BBOX = (400.0, 300.0, 90.0, 60.0)  # x, y, w, h: off the image centre
DEPTH_SCALE = 200.0
# Translations whose projections fall inside, near and outside the box.
T = np.array([[112.0, 105.0, 900.0], [100.0, 90.0, 850.0],
              [-50.0, 30.0, 1400.0], [160.0, 140.0, 700.0]])


def crop(mode: str) -> dict:
    """Crop parameters of each ``MaskCenteredCrop`` mode, built by hand:
    centre ``c``, per-axis zooms, top-left ``(x0, y0)`` with the crop centre
    on output pixel ``(OUT - 1) / 2``, and ``crop_K``."""
    x, y, w, h = BBOX
    cx, cy = x + w / 2, y + h / 2
    if mode == 'center':  # fixed 128 px window
        zx = zy = OUT / 128.0
    elif mode == 'zoom':  # 1.5 x the longer box side
        zx = zy = OUT / (1.5 * max(w, h))
    elif mode == 'resize':  # the box stretched to OUT x OUT
        zx, zy = OUT / w, OUT / h
    else:  # 'full': the whole image, letterboxed
        cx, cy = (WIDTH - 1) / 2, (HEIGHT - 1) / 2
        zx = zy = OUT / max(WIDTH, HEIGHT)
    x0 = cx - (OUT - 1) / (2 * zx)
    y0 = cy - (OUT - 1) / (2 * zy)
    crop_K = crop_camera_matrix(K, x0, y0, zx)
    crop_K[1] *= zy / zx  # non-uniform zoom: rescale the second row
    return dict(center=(cx, cy), zx=zx, zy=zy, x0=x0, y0=y0, crop_K=crop_K)


MODES = ['center', 'zoom', 'resize', 'full']


@pytest.mark.parametrize('mode', MODES)
def test_crop_matrix_built_by_hand_maps_source_pixels(mode):
    p = crop(mode)
    o = K @ T.T
    o = (o[:2] / o[2]).T
    o_crop = p['crop_K'] @ T.T
    o_crop = (o_crop[:2] / o_crop[2]).T
    expected = np.stack([p['zx'] * (o[:, 0] - p['x0']),
                         p['zy'] * (o[:, 1] - p['y0'])], 1)
    np.testing.assert_allclose(o_crop, expected, atol=1e-9)


@pytest.mark.parametrize('mode', MODES)
def test_site_values_by_hand(mode):
    p = crop(mode)
    site = site_encode(torch.as_tensor(T), torch.as_tensor(p['crop_K']),
                       (OUT, OUT), DEPTH_SCALE).numpy()
    o = K @ T.T
    o = (o[:2] / o[2]).T
    cx, cy = p['center']
    # Offsets in units of the source window (crop width = OUT / zoom).
    np.testing.assert_allclose(site[:, 0], (o[:, 0] - cx) * p['zx'] / OUT,
                               atol=1e-12)
    np.testing.assert_allclose(site[:, 1], (o[:, 1] - cy) * p['zy'] / OUT,
                               atol=1e-12)
    # Normalised depth: t_z times the window size over focal and scale.
    f = math.sqrt(K[0, 0] * K[1, 1] * p['zx'] * p['zy'])
    np.testing.assert_allclose(site[:, 2], T[:, 2] * OUT / (f * DEPTH_SCALE),
                               rtol=1e-12)
    if mode == 'resize':  # metrics.md's form: offsets over the box size
        np.testing.assert_allclose(site[:, 0], (o[:, 0] - cx) / BBOX[2],
                                   atol=1e-12)
    if mode == 'zoom':  # the crop window in mm at the object's depth
        window = 1.5 * max(BBOX[2:])
        np.testing.assert_allclose(
            site[:, 2] * DEPTH_SCALE,
            T[:, 2] * window / math.sqrt(K[0, 0] * K[1, 1]), rtol=1e-12)


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('dtype,rtol', [(torch.float64, 1e-12),
                                        (torch.float32, 1e-6)])
def test_site_round_trip(mode, dtype, rtol):
    p = crop(mode)
    t = torch.as_tensor(T, dtype=dtype)
    crop_K = torch.as_tensor(p['crop_K'], dtype=dtype).expand(len(T), 3, 3)
    site = site_encode(t, crop_K, (OUT, OUT), DEPTH_SCALE)
    back = site_decode(site, crop_K, (OUT, OUT), DEPTH_SCALE)
    rel = ((back - t).norm(dim=-1) / t.norm(dim=-1)).max()
    assert rel < rtol


def test_site_round_trip_non_square_input():
    p = crop('zoom')
    t = torch.as_tensor(T)
    crop_K = torch.as_tensor(p['crop_K'])
    site = site_encode(t, crop_K, (48, 80))
    assert torch.allclose(site_decode(site, crop_K, (48, 80)), t, rtol=1e-12)


def test_origin_on_the_crop_centre_ray_has_zero_offset():
    for mode in MODES:
        p = crop(mode)
        crop_K = torch.as_tensor(p['crop_K'])
        ray = crop_center_ray(crop_K, (OUT, OUT))
        cx, cy = p['center']
        expected = np.linalg.solve(K, [cx, cy, 1.0])
        np.testing.assert_allclose(ray.numpy(), expected, atol=1e-12)
        site = site_encode(ray * 800.0, crop_K, (OUT, OUT))
        assert site[:2].abs().max() < 1e-12


@pytest.mark.parametrize('mode', ['zoom', 'center'])
def test_site_depth_against_a_reference_length(mode):
    """``ref_size`` replaces the input size in tz, by hand, and decodes back;
    a reference equal to the input size changes nothing."""
    p = crop(mode)
    t = torch.as_tensor(T)
    crop_K = torch.as_tensor(p['crop_K'])
    ref = torch.tensor([10.0, 20.0, 30.0, 45.0])  # input pixels per sample
    site = site_encode(t, crop_K, (OUT, OUT), DEPTH_SCALE, ref)
    f = math.sqrt(K[0, 0] * K[1, 1] * p['zx'] * p['zy'])
    np.testing.assert_allclose(site[:, 2].numpy(),
                               T[:, 2] * ref.numpy() / (f * DEPTH_SCALE),
                               rtol=1e-12)
    plain = site_encode(t, crop_K, (OUT, OUT), DEPTH_SCALE)
    torch.testing.assert_close(site[:, :2], plain[:, :2], rtol=0, atol=0)
    back = site_decode(site, crop_K, (OUT, OUT), DEPTH_SCALE, ref)
    torch.testing.assert_close(back, t, rtol=1e-12, atol=1e-9)
    same = site_encode(t, crop_K, (OUT, OUT), DEPTH_SCALE,
                       torch.full((len(T), ), float(OUT), dtype=t.dtype))
    torch.testing.assert_close(same, plain, rtol=1e-12, atol=0)
