"""MaskBackground: the object's pixels untouched, the rest replaced."""
import numpy as np
import pytest
import torch

from posessl.errors import DataError
from posessl.registry import MODELS, TRANSFORMS


def _crop(seed: int):
    """A 16 x 16 crop: random pixels everywhere, an L-shaped object."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    mask = np.zeros((16, 16), bool)
    mask[4:12, 5:8] = True
    mask[9:12, 8:13] = True
    return dict(img=img, mask=mask, img_path=f'frame{seed}.png')


def test_constant_fill_keeps_object_and_sets_background():
    results = _crop(0)
    original = results['img']
    img, mask = original.copy(), results['mask']
    out = TRANSFORMS.build(dict(type='MaskBackground',
                                value=(10, 20, 30)))(results)['img']
    np.testing.assert_array_equal(out[mask], img[mask])
    assert (out[~mask] == (10, 20, 30)).all()
    assert out.dtype == np.uint8 and out.shape == img.shape
    np.testing.assert_array_equal(original, img)  # input not written to


def test_background_no_longer_tells_frames_apart():
    """Same object pixels over two different backgrounds -> identical
    crops (the shortcut the transform removes)."""
    a, b = _crop(1), _crop(2)
    b['img'][a['mask']] = a['img'][a['mask']]
    assert (a['img'] != b['img']).any()
    fill = TRANSFORMS.build(dict(type='MaskBackground'))
    np.testing.assert_array_equal(fill(a)['img'], fill(b)['img'])


def test_default_fill_is_zero_after_normalisation():
    results = TRANSFORMS.build(dict(type='MaskBackground'))(_crop(3))
    pre = MODELS.build(dict(type='PoseDataPreprocessor'))
    img = torch.from_numpy(results['img']).permute(2, 0, 1)
    normalised = pre(dict(inputs=[img], data_samples=None))['inputs'][0]
    background = torch.from_numpy(~results['mask'])
    # ImageNet's mean rounded to integers: |error| <= 0.5 / 57.1
    assert normalised[:, background].abs().max() < 0.0095


def test_random_colour_and_noise_fills():
    np.random.seed(0)
    results = _crop(4)
    img, mask = results['img'].copy(), results['mask']
    out = TRANSFORMS.build(dict(type='MaskBackground',
                                fill='random_colour'))(dict(results))['img']
    np.testing.assert_array_equal(out[mask], img[mask])
    assert len(np.unique(out[~mask], axis=0)) == 1

    big = dict(img=np.zeros((200, 200, 3), np.uint8),
               mask=np.zeros((200, 200), bool), img_path='big.png')
    big['mask'][:10, :10] = True
    out = TRANSFORMS.build(dict(type='MaskBackground',
                                fill='noise'))(big)['img']
    assert (out[:10, :10] == 0).all()
    background = out[~big['mask']].astype(float)
    # uniform on 0..255: mean 127.5, standard deviation 73.9
    assert abs(background.mean() - 127.5) < 1.0
    assert abs(background.std() - 73.9) < 1.0


def test_bad_input_names_the_file():
    fill = TRANSFORMS.build(dict(type='MaskBackground'))
    with pytest.raises(DataError, match=r'frame5\.png.*needs the object mask'):
        fill(dict(img=np.zeros((4, 4, 3), np.uint8), img_path='frame5.png'))
    with pytest.raises(DataError, match=r'frame6\.png.*does not match'):
        fill(dict(img=np.zeros((4, 4, 3), np.uint8),
                  mask=np.ones((4, 5), bool), img_path='frame6.png'))
    with pytest.raises(ValueError, match='fill must be one of'):
        TRANSFORMS.build(dict(type='MaskBackground', fill='blur'))
    with pytest.raises(ValueError, match='three integers'):
        TRANSFORMS.build(dict(type='MaskBackground', value=(1, 2)))
