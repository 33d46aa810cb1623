"""PoseDataPreprocessor's colour jitter on the device: hand-computed
factors, value ranges, identity parameters, seeding, training only."""
import pytest
import torch

from posessl.models.data_preprocessor import (
    PoseDataPreprocessor,
    colour_jitter,
)


def batch(n=4, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 6, 5), generator=g).float()


def ones(n):
    return torch.ones(n)


def test_identity_parameters_give_the_input_back_exactly():
    x = batch()
    out = colour_jitter(x, ones(4), ones(4), ones(4), torch.zeros(4))
    assert torch.equal(out, x)


def test_each_step_by_hand():
    grey = torch.full((1, 3, 2, 2), 100.0)
    one, zero = ones(1), torch.zeros(1)
    half = colour_jitter(grey, one / 2, one, one, zero)
    assert torch.allclose(half, torch.full_like(grey, 50.0))
    x = batch(1)
    luma = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1)
    # contrast 0: every pixel becomes the image's mean grey level
    flat = colour_jitter(x, one, zero, one, zero)
    torch.testing.assert_close(flat, torch.full_like(x, float(luma.mean())))
    # saturation 0: each pixel its own grey level in every channel
    mono = colour_jitter(x, one, one, zero, zero)
    torch.testing.assert_close(mono, luma[:, None].expand_as(x))
    # a third of a turn about the grey axis: red -> green -> blue
    red = torch.zeros(1, 3, 1, 1)
    red[0, 0] = 255.0
    turned = colour_jitter(red, one, one, one, one / 3)
    torch.testing.assert_close(turned.flatten(), torch.tensor(
        [0.0, 255.0, 0.0]), atol=1e-3, rtol=0)


def test_values_stay_in_range():
    x = batch(8, seed=1)
    strong = colour_jitter(x, torch.full((8, ), 3.0), torch.full((8, ), 2.5),
                           torch.full((8, ), 4.0),
                           torch.linspace(-0.5, 0.5, 8))
    assert strong.min() >= 0 and strong.max() <= 255
    assert not torch.equal(strong, x)


def _raw(**photometric) -> PoseDataPreprocessor:
    """No normalisation, so the jittered values can be read directly."""
    return PoseDataPreprocessor(mean=None, std=None,
                                photometric=photometric or None)


def test_preprocessor_jitters_in_training_only():
    x = batch(6, seed=2).to(torch.uint8)
    data = dict(inputs=list(x))
    plain = _raw()(data, training=True)['inputs']
    assert torch.equal(plain, x.float())
    aug = _raw(prob=1.0, seed=3)
    assert torch.equal(aug(data, training=False)['inputs'], x.float())
    out = aug(data, training=True)['inputs']
    assert out.min() >= 0 and out.max() <= 255
    # every image drawn its own factors: none is left as it was
    assert all(not torch.equal(o, i) for o, i in zip(out, x.float()))
    # same seed, same draws; the next batch draws new ones
    again = _raw(prob=1.0, seed=3)(data, training=True)['inputs']
    assert torch.equal(again, out)
    assert not torch.equal(aug(data, training=True)['inputs'], out)
    # prob 0 and zero-width ranges: the input back exactly
    none = _raw(prob=0.0, seed=3)(data, training=True)['inputs']
    assert torch.equal(none, x.float())
    fixed = _raw(prob=1.0, brightness=0, contrast=0, saturation=0, hue=0,
                 seed=4)(data, training=True)['inputs']
    assert torch.equal(fixed, x.float())


def test_bad_settings_fail_with_one_line():
    with pytest.raises(ValueError, match="unknown photometric settings"):
        _raw(brightnes=0.2)
    with pytest.raises(ValueError, match='prob must be in'):
        _raw(prob=1.5)
    with pytest.raises(ValueError, match='brightness range .* 0 <= lo'):
        _raw(brightness=1.5)
    with pytest.raises(ValueError, match='hue must be within'):
        _raw(hue=0.7)
