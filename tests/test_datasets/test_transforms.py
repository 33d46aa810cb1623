"""Loading, photometric augmentation and packing transforms."""
import logging

import cv2
import numpy as np
import pytest
import torch

from posessl.errors import DataError
from posessl.registry import TRANSFORMS
from posessl.structures.pose_data_sample import PoseDataSample


def _write(path, img_rgb):
    cv2.imwrite(str(path), cv2.cvtColor(img_rgb, cv2.COLOR_RGB2BGR))


@pytest.fixture
def files(tmp_path):
    img = np.zeros((6, 8, 3), np.uint8)
    img[..., 0] = 250  # pure red in RGB
    img[1, 2] = (1, 2, 3)
    mask = np.zeros((6, 8), np.uint8)
    mask[2:4, 3:6] = 255
    _write(tmp_path / 'img.png', img)
    cv2.imwrite(str(tmp_path / 'mask.png'), mask)
    cv2.imwrite(str(tmp_path / 'empty.png'), np.zeros((6, 8), np.uint8))
    cv2.imwrite(str(tmp_path / 'small.png'), np.full((3, 8), 255, np.uint8))
    (tmp_path / 'broken.png').write_bytes(b'not a png')
    # a DenseFusion-style 3-channel mask
    cv2.imwrite(str(tmp_path / 'mask3.png'), np.dstack([mask] * 3))
    return tmp_path, img, mask > 0


def test_load_image_and_mask_reads_rgb_and_bool(files):
    root, img, mask = files
    load = TRANSFORMS.build(dict(type='LoadImageAndMask'))
    out = load(dict(img_path=str(root / 'img.png'),
                    mask_path=str(root / 'mask.png'), ori_shape=(6, 8)))
    assert out['img'].dtype == np.uint8 and out['img'].shape == (6, 8, 3)
    np.testing.assert_array_equal(out['img'], img)  # RGB order kept
    assert tuple(out['img'][0, 0]) == (250, 0, 0)
    assert out['mask'].dtype == bool
    np.testing.assert_array_equal(out['mask'], mask)
    assert out['img_shape'] == (6, 8)
    out = load(dict(img_path=str(root / 'img.png'),
                    mask_path=str(root / 'mask3.png')))
    np.testing.assert_array_equal(out['mask'], mask)
    out = load(dict(img_path=str(root / 'img.png'), mask_path=None))
    assert out['mask'] is None


def test_load_cache_decodes_once_and_evicts_least_recent(files,
                                                        monkeypatch):
    import posessl.datasets.transforms.loading as loading
    root, img, mask = files
    decoded = []
    real_decode = loading._decode
    monkeypatch.setattr(loading, '_decode',
                        lambda path, flags: decoded.append(path) or
                        real_decode(path, flags))
    load = TRANSFORMS.build(dict(type='LoadImageAndMask', cache_size=1))
    first = dict(img_path=str(root / 'img.png'),
                 mask_path=str(root / 'mask.png'))
    second = dict(img_path=str(root / 'img.png'),
                  mask_path=str(root / 'mask3.png'))
    a = load(dict(first))
    b = load(dict(first))
    assert len(decoded) == 2  # image + mask, read once for both calls
    assert b['img'] is a['img'] and b['mask'] is a['mask']
    np.testing.assert_array_equal(b['img'], img)
    np.testing.assert_array_equal(b['mask'], mask)
    with pytest.raises(ValueError):  # cached arrays are read-only
        b['img'][0, 0, 0] = 0
    load(dict(second))  # evicts the first pair (cache_size=1)
    load(dict(first))
    assert len(decoded) == 6
    assert TRANSFORMS.build(dict(type='LoadImageAndMask'))._cache == {}


@pytest.mark.parametrize('img,mask,message', [
    ('missing.png', 'mask.png', 'missing.png: file not found'),
    ('broken.png', 'mask.png', 'broken.png: not a readable image'),
    ('img.png', 'missing_mask.png', 'missing_mask.png: file not found'),
    ('img.png', 'broken.png', 'broken.png: not a readable image'),
    ('img.png', 'empty.png', 'empty.png: empty mask'),
    ('img.png', 'small.png', 'small.png: mask is 8x3, the image 8x6'),
])
def test_load_bad_files_raise_or_skip(files, img, mask, message, caplog):
    root = files[0]
    results = dict(img_path=str(root / img), mask_path=str(root / mask))
    strict = TRANSFORMS.build(dict(type='LoadImageAndMask', skip_bad=False))
    with pytest.raises((DataError, FileNotFoundError)) as info:
        strict(dict(results))
    assert message in str(info.value)
    assert str(root) in str(info.value)  # the full path is named
    lenient = TRANSFORMS.build(dict(type='LoadImageAndMask'))
    assert lenient(dict(results)) is None
    assert lenient(dict(results)) is None
    assert lenient.num_skipped == 2


def test_load_image_of_wrong_size(files):
    root = files[0]
    load = TRANSFORMS.build(dict(type='LoadImageAndMask', skip_bad=False))
    with pytest.raises(DataError, match=r'img.png: image is 8x6, the '
                       r'annotations say 640x480'):
        load(dict(img_path=str(root / 'img.png'), mask_path=None,
                  ori_shape=(480, 640)))


def test_skip_is_logged(files):
    from mmengine.logging import MMLogger
    root = files[0]
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        TRANSFORMS.build(dict(type='LoadImageAndMask'))(
            dict(img_path=str(root / 'img.png'),
                 mask_path=str(root / 'empty.png')))
    finally:
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in records]
    assert any('empty.png: empty mask' in m and '1 skipped' in m
               for m in messages), messages


# -- PhotometricAug ---------------------------------------------------------
def _aug(**kw):
    cfg = dict(type='PhotometricAug', color_prob=1.0, brightness=(1.0, 1.0),
               contrast=(1.0, 1.0), saturation=(1.0, 1.0), hue=(0.0, 0.0))
    cfg.update(kw)
    return TRANSFORMS.build(cfg)


def test_photometric_identity_and_brightness():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    out = _aug()(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(out, img)
    out = _aug(brightness=(1.5, 1.5))(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(
        out, np.clip(np.rint(img * 1.5), 0, 255).astype(np.uint8))


def test_photometric_contrast_and_saturation_hand_computed():
    img = np.array([[[100, 100, 100], [200, 200, 200]]], np.uint8)
    # grey mean 150; contrast 0.5 -> 125, 175
    out = _aug(contrast=(0.5, 0.5))(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(out[0, :, 0], [125, 175])
    # saturation 0 -> the BT.601 grey of each pixel
    col = np.array([[[255, 0, 0], [0, 0, 255]]], np.uint8)
    out = _aug(saturation=(0.0, 0.0))(dict(img=col.copy()))['img']
    np.testing.assert_array_equal(out[0, 0], [76, 76, 76])  # 0.299 * 255
    np.testing.assert_array_equal(out[0, 1], [29, 29, 29])  # 0.114 * 255


def test_photometric_hue_rotation():
    red = np.array([[[255, 0, 0]]], np.uint8)
    out = _aug(hue=(0.5, 0.5))(dict(img=red.copy()))['img']
    np.testing.assert_array_equal(out[0, 0], [0, 255, 255])  # cyan
    out = _aug(hue=(1 / 3, 1 / 3))(dict(img=red.copy()))['img']
    np.testing.assert_array_equal(out[0, 0], [0, 255, 0])  # green


def test_photometric_noise_and_blur():
    np.random.seed(0)
    flat = np.full((64, 64, 3), 128, np.uint8)
    out = _aug(color_prob=0.0, noise_prob=1.0, noise_std=(10.0, 10.0))(
        dict(img=flat.copy()))['img'].astype(np.float64)
    assert abs(out.mean() - 128) < 0.5
    assert 9.5 < out.std() < 10.5
    dot = np.zeros((15, 15, 3), np.uint8)
    dot[7, 7] = 255
    out = _aug(color_prob=0.0, blur_prob=1.0, blur_sigma=(1.0, 1.0))(
        dict(img=dot.copy()))['img'].astype(np.float64)
    # the dot becomes 255 g(i) g(j): a normalised 9-tap Gaussian, sigma 1
    taps = np.exp(-np.arange(-4, 5)**2 / 2.0)
    taps /= taps.sum()
    expected = 255 * np.outer(taps, taps)
    np.testing.assert_allclose(out[3:12, 3:12, 0], expected, atol=0.51)
    assert out[..., 0].sum() == pytest.approx(255, abs=8)


def test_photometric_probabilities_and_bad_args():
    np.random.seed(1)
    aug = TRANSFORMS.build(dict(type='PhotometricAug', color_prob=0.3,
                                brightness=(2.0, 2.0), contrast=0,
                                saturation=0, hue=0))
    img = np.full((2, 2, 3), 50, np.uint8)
    changed = sum(aug(dict(img=img.copy()))['img'][0, 0, 0] == 100
                  for _ in range(2000))
    assert 500 < changed < 700  # about 30 % of 2000
    with pytest.raises(ValueError, match='brightness'):
        TRANSFORMS.build(dict(type='PhotometricAug', brightness=1.5))
    with pytest.raises(ValueError, match='hue'):
        TRANSFORMS.build(dict(type='PhotometricAug', hue=0.7))


# -- PackPoseInputs ---------------------------------------------------------
def test_pack_pose_inputs():
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    R = np.eye(3)
    results = dict(img=img, img_path='a.png', obj_id=1, scene_id=2, im_id=3,
                   ori_shape=(480, 640), img_shape=(2, 3), bbox=[1, 2, 3, 4],
                   cam_K=np.eye(3), crop_K=2 * np.eye(3),
                   crop_center=(1.0, 2.0), crop_size=4.0, zoom=0.5,
                   has_pose=True, gt_R=R, gt_t=np.array([1.0, 2.0, 3.0]),
                   mask=None)
    out = TRANSFORMS.build(dict(type='PackPoseInputs'))(results)
    assert out['inputs'].dtype == torch.uint8
    assert out['inputs'].shape == (3, 2, 3)
    assert out['inputs'][1, 1, 2] == img[1, 2, 1]
    sample = out['data_samples']
    assert isinstance(sample, PoseDataSample)
    assert sample.obj_id == 1 and sample.im_id == 3 and sample.has_pose
    assert sample.zoom == 0.5 and sample.crop_center == (1.0, 2.0)
    np.testing.assert_array_equal(sample.crop_K, 2 * np.eye(3))
    assert sample.gt_R.dtype == torch.float32
    torch.testing.assert_close(sample.gt_t, torch.tensor([1.0, 2.0, 3.0]))
    assert 'mask' not in sample.metainfo_keys()
    with pytest.raises(ValueError, match='a.png: expected an H x W x 3'):
        TRANSFORMS.build(dict(type='PackPoseInputs'))(
            dict(results, img=np.zeros((2, 3), np.uint8)))
