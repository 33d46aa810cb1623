"""RandomOcclusion: a piece of the crop's surroundings over the object."""
import numpy as np
import pytest

from posessl.errors import DataError
from projects.random_occlusion.random_occlusion import RandomOcclusion, occlude


def test_occlude_by_hand():
    img = np.arange(16, dtype=np.uint8).reshape(4, 4)
    out = occlude(img, (1, 1, 3, 2), (2, 3))
    # row 1, columns 1-2 take row (1 + 3) % 4 = 0, columns 3 and 0
    expected = img.copy()
    expected[1, 1:3] = [3, 0]
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(img, np.arange(16).reshape(4, 4))


def _sample(seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    mask = np.zeros((32, 32), bool)
    mask[10:20, 12:24] = True
    return img, mask


@pytest.mark.parametrize('seed', range(20))
def test_occluder_is_a_band_of_the_box_from_elsewhere(seed):
    img, mask = _sample(seed)
    np.random.seed(seed)
    out = RandomOcclusion(prob=1.0, cover=(0.2, 0.5))(
        dict(img=img, mask=mask.copy()))
    np.testing.assert_array_equal(out['mask'], mask)  # stays amodal
    changed = np.any(out['img'] != img, axis=2)
    ys, xs = np.nonzero(changed)
    assert changed.any() and not (changed & ~mask).any()
    # a band across the box from one side: full height or full width
    w, h = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    if h == 10:
        assert 0.2 * 12 - 1 <= w <= 0.5 * 12 + 1
        assert xs.min() == 12 or xs.max() == 23
    else:
        assert w == 12 and 0.2 * 10 - 1 <= h <= 0.5 * 10 + 1
        assert ys.min() == 10 or ys.max() == 19


def test_probability_zero_and_errors():
    img, mask = _sample(0)
    out = RandomOcclusion(prob=0.0)(dict(img=img, mask=mask))
    assert out['img'] is img
    with pytest.raises(DataError, match='a.png: RandomOcclusion needs the '
                       'object mask'):
        RandomOcclusion(prob=1.0)(dict(img=img, img_path='a.png'))
    with pytest.raises(ValueError, match='cover'):
        RandomOcclusion(cover=(0.5, 0.2))
