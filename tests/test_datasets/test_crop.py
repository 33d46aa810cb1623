"""MaskCenteredCrop: the crop's camera matrix matches the crop's pixels."""
import numpy as np
import pytest

from posessl.errors import DataError
from posessl.geometry import box_center, crop_camera_matrix, project_points
from posessl.registry import TRANSFORMS

from . import builders

H, W = 120, 160
K = builders.K
OUT = 32


def _coord_image() -> np.ndarray:
    """float32 image whose pixel (v, u) holds (u, v, 1)."""
    v, u = np.mgrid[0:H, 0:W].astype(np.float32)
    return np.stack([u, v, np.ones_like(u)], axis=-1)


def _bilinear(img: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Sample ``img`` at float pixel positions (brute force)."""
    out = []
    for u, v in uv:
        u0, v0 = int(np.floor(u)), int(np.floor(v))
        fu, fv = u - u0, v - v0
        acc = 0.0
        for du, dv, w in ((0, 0, (1 - fu) * (1 - fv)), (1, 0, fu * (1 - fv)),
                          (0, 1, (1 - fu) * fv), (1, 1, fu * fv)):
            acc = acc + w * img[v0 + dv, u0 + du]
        out.append(acc)
    return np.array(out)


def _scene(bbox):
    """Results dict with a coordinate image, a box and random points whose
    projections fall inside ``bbox`` and inside the image."""
    rng = np.random.default_rng(1)
    x, y, w, h = bbox
    uv = np.stack([rng.uniform(x, x + w, 200), rng.uniform(y, y + h, 200)],
                  axis=1)
    uv = uv[(uv[:, 0] >= 0) & (uv[:, 0] <= W - 1) & (uv[:, 1] >= 0) &
            (uv[:, 1] <= H - 1)]
    depth = rng.uniform(500, 700, len(uv))
    # back-project to camera points, then express in a rotated model frame
    cam = np.linalg.solve(K, np.c_[uv, np.ones(len(uv))].T).T * depth[:, None]
    R = builders.frame_pose(1, 3)[0]
    t = np.array([5.0, -3.0, 600.0])
    model = (cam - t) @ R  # R^T (cam - t)
    results = dict(img=_coord_image(), cam_K=K.copy(), bbox=list(bbox),
                   mask=None, img_path='x.png')
    return results, model, R, t


MODES = [
    dict(mode='center', crop_size=40.0),
    dict(mode='center', crop_size=90.0),
    dict(mode='zoom', scale=1.5),
    dict(mode='zoom', scale=4.0),  # zoom < 1/2: the block-average path
    dict(mode='resize'),
    dict(mode='full'),
]
BOXES = [
    [60.0, 40.0, 30.0, 20.0],  # inside
    [0.0, 0.0, 25.0, 18.0],  # touching the top-left corner
    [130.0, 95.0, 29.0, 24.0],  # touching the bottom-right corner
]


@pytest.mark.parametrize('cfg', MODES, ids=lambda c: str(tuple(c.values())))
@pytest.mark.parametrize('bbox', BOXES, ids=['inside', 'top-left',
                                             'bottom-right'])
def test_crop_K_lands_on_crop_pixels(cfg, bbox):
    crop = TRANSFORMS.build(dict(type='MaskCenteredCrop', out_size=OUT,
                                 box_source='bbox', **cfg))
    results, model, R, t = _scene(bbox)
    full_uv = project_points(model, R, t, K)
    out = crop.transform(results)
    crop_uv = project_points(model, R, t, out['crop_K'])
    # (1) the contract's affine map of the full-image projection
    zx, zy = out.get('zoom_xy', (out['zoom'], out['zoom']))
    cx, cy = out['crop_center']
    x0, y0 = cx - (OUT - 1) / (2 * zx), cy - (OUT - 1) / (2 * zy)
    affine = np.c_[zx * (full_uv[:, 0] - x0), zy * (full_uv[:, 1] - y0)]
    np.testing.assert_allclose(crop_uv, affine, atol=1e-6)
    # (2) the pixels: the cropped coordinate image, sampled where crop_K
    # projects, holds the full-image projection. Keep points whose
    # interpolation footprint stays inside both images.
    # (a block of f source pixels and its neighbour block)
    f = max(1.0, np.floor(1 / min(zx, zy)))
    m = 2 * f + 1
    inside = ((crop_uv >= 0) & (crop_uv <= OUT - 1.001)).all(1)
    inside &= ((full_uv >= m) & (full_uv <= [W - 1 - m, H - 1 - m])).all(1)
    assert inside.sum() >= 10
    sampled = _bilinear(out['img'], crop_uv[inside])
    np.testing.assert_allclose(sampled[:, 2], 1.0, atol=1e-4)
    np.testing.assert_allclose(sampled[:, :2], full_uv[inside], atol=0.5)
    # the box centre lands on the output's centre pixel coordinate
    if cfg['mode'] != 'full':
        centre = project_points(
            np.linalg.solve(R, np.linalg.solve(
                K, [*box_center(bbox), 1.0]) * 600 - t)[None], R, t,
            out['crop_K'])
        np.testing.assert_allclose(centre[0], [(OUT - 1) / 2] * 2,
                                   atol=1e-6)


@pytest.mark.parametrize('mode,kwargs,src', [
    ('zoom', dict(scale=0.5), (70, 50)),  # zoom 4: upsampling
    ('center', dict(crop_size=16.0), (3, 2)),  # zoom 2, at the border
    ('full', dict(), (100, 37)),  # zoom 1/5: block average
])
def test_bright_pixel_lands_on_predicted_pixel(mode, kwargs, src):
    img = np.zeros((H, W, 3), np.uint8)
    img[src[1], src[0]] = 255
    bbox = [src[0] - 4.0, src[1] - 3.0, 8.0, 6.0]
    crop = TRANSFORMS.build(dict(type='MaskCenteredCrop', out_size=OUT,
                                 mode=mode, box_source='bbox', **kwargs))
    out = crop.transform(dict(img=img, cam_K=K.copy(), bbox=bbox, mask=None))
    # predicted: the crop camera applied to the source pixel's ray
    ray = np.linalg.solve(K, [src[0], src[1], 1.0])
    pred = project_points(ray[None] * 700, np.eye(3), np.zeros(3),
                          out['crop_K'])[0]
    lum = out['img'][..., 0].astype(np.float64)
    assert lum.max() > 0
    peak = np.unravel_index(np.argmax(lum), lum.shape)[::-1]
    assert np.all(np.abs(np.array(peak) - pred) <= 0.5 + 1e-9), (peak, pred)
    v, u = np.mgrid[0:OUT, 0:OUT]
    centroid = np.array([(u * lum).sum(), (v * lum).sum()]) / lum.sum()
    np.testing.assert_allclose(centroid, pred, atol=0.5)


def test_center_mode_keeps_object_centred_at_border():
    # a bright 9x7 object touching the top-left corner of the image; an odd
    # output size and zoom 1 make the shift whole pixels
    out_size = 33
    img = np.zeros((H, W, 3), np.uint8)
    img[0:7, 0:9] = 200
    mask = img[..., 0] > 0
    crop = TRANSFORMS.build(dict(type='MaskCenteredCrop', out_size=out_size,
                                 mode='center', crop_size=33.0))
    out = crop.transform(dict(img=img, mask=mask, cam_K=K.copy(),
                              bbox=[50, 50, 8, 6]))
    # the box comes from the mask (columns 0..8, rows 0..6)
    assert out['zoom'] == 1.0 and out['crop_center'] == (4.0, 3.0)
    lum = out['img'][..., 0]
    v, u = np.nonzero(lum)
    # x0 = 4 - 16 = -12, y0 = 3 - 16 = -13: the object is centred on 16
    assert (u.min(), u.max(), v.min(), v.max()) == (12, 20, 13, 19)
    assert np.all(lum[13:20, 12:21] == 200)
    # the window was not shifted into the image: zero padding above/left
    assert lum[:13].max() == 0 and lum[:, :12].max() == 0
    # the cropped mask matches the cropped image
    np.testing.assert_array_equal(out['mask'], lum > 0)
    np.testing.assert_allclose(out['crop_K'],
                               crop_camera_matrix(K, -12.0, -13.0, 1.0))


def test_hand_computed_windows():
    img = np.zeros((H, W, 3), np.uint8)
    bbox = [40.0, 30.0, 20.0, 10.0]  # centre (50, 35)

    def res():
        return dict(img=img.copy(), cam_K=K.copy(), bbox=bbox, mask=None)

    zoom = TRANSFORMS.build(dict(type='MaskCenteredCrop', out_size=64,
                                 mode='zoom', scale=1.6, box_source='bbox'))
    out = zoom.transform(res())
    assert out['crop_size'] == pytest.approx(32.0)  # 1.6 * 20
    assert out['zoom'] == pytest.approx(2.0)
    assert out['crop_center'] == (50.0, 35.0)
    # x0 = 50 - 63 / 4 = 34.25; y0 = 35 - 15.75 = 19.25
    np.testing.assert_allclose(
        out['crop_K'],
        [[400.0, 0, 2 * (79.5 - 34.25)], [0, 402.0, 2 * (60.25 - 19.25)],
         [0, 0, 1]])
    resize = TRANSFORMS.build(dict(type='MaskCenteredCrop', out_size=64,
                                   mode='resize', box_source='bbox'))
    out = resize.transform(res())
    assert out['zoom_xy'] == (3.2, 6.4)  # 64 / 20, 64 / 10
    # x0 = 50 - 63 / 6.4, y0 = 35 - 63 / 12.8
    np.testing.assert_allclose(
        out['crop_K'],
        [[640.0, 0, 3.2 * (79.5 - 50 + 63 / 6.4)],
         [0, 201.0 * 6.4, 6.4 * (60.25 - 35 + 63 / 12.8)], [0, 0, 1]])
    assert out['zoom'] == pytest.approx(np.sqrt(3.2 * 6.4))
    full = TRANSFORMS.build(dict(type='MaskCenteredCrop', out_size=64,
                                 mode='full'))
    out = full.transform(res())
    # 160 x 120 letterboxed into 64: zoom 0.4, centre (79.5, 59.5)
    assert out['zoom'] == pytest.approx(0.4)
    assert out['crop_center'] == (79.5, 59.5)
    # x0 = 79.5 - 63 / 0.8 = 0.75: the image's left edge (-0.5) -> -0.5
    np.testing.assert_allclose(out['crop_K'][0], [80.0, 0, 0.4 * 78.75])


def test_jitter_moves_the_window_within_bounds():
    np.random.seed(0)
    crop = TRANSFORMS.build(dict(type='MaskCenteredCrop', out_size=32,
                                 mode='zoom', scale=1.5, center_jitter=0.1,
                                 scale_jitter=0.25, box_source='bbox'))
    bbox = [60.0, 40.0, 20.0, 10.0]
    centres, sizes = [], []
    for _ in range(300):
        out = crop.transform(dict(img=np.zeros((H, W, 3), np.uint8),
                                  cam_K=K.copy(), bbox=bbox, mask=None))
        centres.append(out['crop_center'])
        sizes.append(out['crop_size'])
    centres, sizes = np.array(centres), np.array(sizes)
    assert np.all(np.abs(centres[:, 0] - 70.0) <= 2.0 + 1e-9)  # 0.1 * 20
    assert np.all(np.abs(centres[:, 1] - 45.0) <= 1.0 + 1e-9)  # 0.1 * 10
    assert np.all((sizes >= 30 * 0.75 - 1e-9) & (sizes <= 30 * 1.25 + 1e-9))
    assert centres[:, 0].std() > 0.5 and sizes.std() > 2


def test_detections_box_source(tmp_path):
    import json
    dets = [
        dict(scene_id=1, image_id=5, category_id=1, bbox=[10, 10, 20, 20],
             score=0.3),
        dict(scene_id=1, image_id=5, category_id=1, bbox=[40, 30, 20, 10],
             score=0.9),
        dict(scene_id=1, image_id=5, category_id=2, bbox=[0, 0, 5, 5],
             score=1.0),
    ]
    path = tmp_path / 'dets.json'
    path.write_text(json.dumps(dets))
    crop = TRANSFORMS.build(dict(type='MaskCenteredCrop', out_size=32,
                                 mode='zoom', scale=1.0,
                                 box_source='detections',
                                 detections_file=str(path)))
    res = dict(img=np.zeros((H, W, 3), np.uint8), cam_K=K.copy(),
               bbox=[0, 0, 1, 1], mask=None, scene_id=1, im_id=5, obj_id=1)
    out = crop.transform(res)
    # the highest-scoring box of object 1, not the ground-truth bbox
    assert out['crop_center'] == (50.0, 35.0)
    assert out['crop_size'] == pytest.approx(20.0)
    with pytest.raises(DataError, match='dets.json: no detection of object '
                       '3 in scene 1, image 5'):
        crop.transform(dict(res, obj_id=3))
    bad = tmp_path / 'bad_dets.json'
    bad.write_text(json.dumps([dict(scene_id=1, bbox=[0, 0, 1, 1])]))
    with pytest.raises(DataError, match='bad_dets.json: detection 0'):
        TRANSFORMS.build(dict(type='MaskCenteredCrop',
                              box_source='detections',
                              detections_file=str(bad)))
    with pytest.raises(FileNotFoundError, match='missing.json'):
        TRANSFORMS.build(dict(type='MaskCenteredCrop',
                              box_source='detections',
                              detections_file=str(tmp_path / 'missing.json')))


def test_mask_area_is_the_source_pixel_count():
    """``mask_area`` counts the mask's pixels before cropping, whatever the
    window; without a mask there is none."""
    mask = np.zeros((H, W), bool)
    mask[40:50, 60:65] = True  # 10 x 5 = 50 pixels
    mask[0, 0] = True  # and one far outside the window
    for cfg in (dict(mode='zoom', scale=1.5), dict(mode='center',
                                                   crop_size=20.0)):
        crop = TRANSFORMS.build(dict(type='MaskCenteredCrop', out_size=OUT,
                                     box_source='bbox', **cfg))
        out = crop.transform(dict(img=_coord_image(), cam_K=K.copy(),
                                  bbox=[60.0, 40.0, 4.0, 9.0],
                                  mask=mask.copy(), img_path='x.png'))
        assert out['mask_area'] == 51.0
        # the mean source pixel: (50 * 62 + 0) / 51, (50 * 44.5 + 0) / 51
        assert out['mask_centroid'] == pytest.approx((3100 / 51,
                                                      2225 / 51))
    results, _, _, _ = _scene(BOXES[0])
    out = TRANSFORMS.build(dict(type='MaskCenteredCrop', out_size=OUT,
                                mode='zoom')).transform(results)
    assert 'mask_area' not in out and 'mask_centroid' not in out
