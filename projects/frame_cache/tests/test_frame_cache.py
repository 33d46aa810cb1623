"""FrameCacheDataset: the cached crop plus the jitter warp gives the direct
crop's geometry exactly and its pixels within interpolation; the cache is
keyed by the files and the settings, and never read half-written."""
import os
import shutil

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from posessl.errors import DataError
from posessl.geometry import box_center, crop_camera_matrix
from posessl.registry import DATASETS
from projects.frame_cache.frame_cache import (
    FrameCacheDataset,
    window_in_cache,
)
from tests.test_datasets import builders

JITTER = dict(mode='zoom', out_size=32, scale=1.5, center_jitter=0.1,
              scale_jitter=0.2)


def pose_dataset(root, crop=JITTER, tail=()):
    init_default_scope('posessl')
    pipeline = [dict(type='LoadImageAndMask'),
                dict(type='MaskCenteredCrop', **crop), *tail]
    return dict(type='LinemodBOPDataset', data_root=str(root),
                split='train', obj_ids=[1], pipeline=pipeline)


def cached(root, cache_dir, crop=JITTER, tail=(), **kw):
    return DATASETS.build(dict(type='FrameCacheDataset',
                               dataset=pose_dataset(root, crop, tail),
                               cache_dir=str(cache_dir), **kw))


def direct(ds: FrameCacheDataset, idx: int) -> dict:
    """LoadImageAndMask + MaskCenteredCrop of frame ``idx``."""
    return ds.crop(ds.loader(dict(ds.get_data_info(idx))))


def test_window_in_cache_composes_the_camera_exactly():
    K = builders.K
    cached_win = (101.3, 57.9, 0.41, 0.41)
    window = (112.0, 66.25, 0.47, 0.39)
    x0c, y0c, rx, ry = window_in_cache(cached_win, window)
    composed = crop_camera_matrix(crop_camera_matrix(K, *cached_win), x0c,
                                  y0c, rx, ry)
    np.testing.assert_allclose(composed, crop_camera_matrix(K, *window),
                               rtol=0, atol=1e-9)
    # a source point lands on the same output pixel either way
    u = 150.0
    assert rx * (cached_win[2] * (u - cached_win[0]) - x0c) == \
        pytest.approx(window[2] * (u - window[0]), abs=1e-9)


def test_cached_crop_equals_the_direct_crop(bop_root, tmp_path):
    ds = cached(bop_root, tmp_path / 'cache')
    # margin for zoom mode: 1 + scale jitter + 2 centre jitter / scale
    assert ds.margin == pytest.approx(1 + 0.2 + 2 * 0.1 / 1.5)
    # 32 * 0.333 = 10.7 px more, rounded up to an even 12
    assert ds.cache_size == 32 + 12
    diffs = []
    for idx in range(0, 24, 3):
        np.random.seed(idx)
        want = direct(ds, idx)
        np.random.seed(idx)
        got = ds.cached_crop(idx)
        for key in ('crop_center', 'zoom', 'crop_size', 'img_shape',
                    'mask_area'):
            assert got[key] == want[key], key
        np.testing.assert_allclose(got['crop_K'], want['crop_K'], rtol=0,
                                   atol=1e-9)
        diff = np.abs(got['img'].astype(int) - want['img'].astype(int))
        # the yardstick: the direct crop against itself one pixel over
        shift = np.abs(np.diff(want['img'].astype(int), axis=1))
        diffs.append((diff.mean(), diff[want['mask']].mean(), shift.mean()))
        # nearest-neighbour masks differ only along the outline
        assert (got['mask'] != want['mask']).mean() < 0.05
    cache_err, object_err, one_px = np.mean(diffs, axis=0)
    # one more bilinear resampling of a random-noise background (the worst
    # case) costs less than half a pixel of misregistration; on the
    # object's flat colours about one grey level
    assert cache_err < 0.5 * one_px
    assert object_err < 2.0


def test_the_cache_path_draws_the_same_jitter(bop_root, tmp_path):
    ds = cached(bop_root, tmp_path / 'cache')
    np.random.seed(3)
    first = ds.cached_crop(4)['crop_center']
    np.random.seed(3)
    assert direct(ds, 4)['crop_center'] == first
    # and it is jittered: not the box centre
    assert first != box_center(ds.get_data_info(4)['bbox'])


def test_without_jitter_the_pixels_are_a_shift(bop_root, tmp_path):
    still = dict(JITTER, center_jitter=0.0, scale_jitter=0.0)
    ds = DATASETS.build(dict(type='FrameCacheDataset', margin=1.25,
                             dataset=pose_dataset(bop_root, still),
                             cache_dir=str(tmp_path / 'cache')))
    got, want = ds.cached_crop(7), direct(ds, 7)
    # the cached window is 8 px wider at the same zoom: an integer shift
    diff = np.abs(got['img'].astype(int) - want['img'].astype(int))
    assert diff.mean() < 1.0
    np.testing.assert_array_equal(got['crop_K'], want['crop_K'])


def test_full_pipeline_sample(bop_root, tmp_path):
    tail = (dict(type='MaskBackground'), dict(type='PackPoseInputs'))
    ds = cached(bop_root, tmp_path / 'cache', tail=tail)
    plain = DATASETS.build(pose_dataset(bop_root, tail=tail))
    assert len(ds) == len(plain) == 24
    assert ds.metainfo['obj_ids'] == plain.metainfo['obj_ids']
    np.random.seed(0)
    a = ds[2]['data_samples']
    np.random.seed(0)
    b = plain[2]['data_samples']
    np.testing.assert_allclose(a.crop_K.numpy(), b.crop_K.numpy(), rtol=0,
                               atol=1e-9)
    assert float(a.mask_area) == float(b.mask_area)
    assert a.img_path == b.img_path and int(a.obj_id) == 1


def _stamp(path) -> tuple:
    st = os.stat(os.path.join(path, 'crops.npy'))
    return st.st_ino, st.st_mtime_ns


def test_reused_rebuilt_on_changes(bop_root, tmp_path):
    root = tmp_path / 'data'
    shutil.copytree(bop_root, root)
    cache_dir = tmp_path / 'cache'
    first = cached(root, cache_dir)
    stamp = _stamp(first.path)
    again = cached(root, cache_dir)  # touch nothing: reused
    assert again.path == first.path and _stamp(again.path) == stamp
    other = cached(root, cache_dir, dict(JITTER, scale=1.4))  # a setting
    assert other.path != first.path
    assert len(os.listdir(cache_dir)) == 2
    # jitter is applied on top of the cache: with the same margin (the
    # default follows the jitter) a calmer jitter reads the same cache
    calmer = cached(root, cache_dir, dict(JITTER, center_jitter=0.05),
                    margin=first.margin)
    assert calmer.path == first.path
    img = first.get_data_info(0)['img_path']
    os.utime(img, ns=(1, 1))  # a changed file
    changed = cached(root, cache_dir)
    assert changed.path not in (first.path, other.path)


def test_a_half_written_cache_is_never_used(bop_root, tmp_path,
                                            monkeypatch):
    cache_dir = tmp_path / 'cache'
    calls = []
    real = FrameCacheDataset._crop_frame

    def dies_at_five(self, info):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(self, info)

    monkeypatch.setattr(FrameCacheDataset, '_crop_frame', dies_at_five)
    with pytest.raises(KeyboardInterrupt):
        cached(bop_root, cache_dir)
    assert os.listdir(cache_dir) == []  # no folder, no temp left
    monkeypatch.setattr(FrameCacheDataset, '_crop_frame', real)
    ds = cached(bop_root, cache_dir)
    assert sorted(os.listdir(ds.path)) == ['crops.npy', 'masks.npy',
                                           'meta.npz', 'settings.json']
    # a folder holding crops but no meta.npz (the last file written) is
    # not a cache: it is replaced by a new build
    os.remove(os.path.join(ds.path, 'meta.npz'))
    rebuilt = cached(bop_root, cache_dir)
    assert rebuilt.path == ds.path
    assert os.path.isfile(os.path.join(ds.path, 'meta.npz'))
    assert len(rebuilt.cached_crop(0)['img']) == 32


def test_clear_errors(bop_root, tmp_path):
    bad = pose_dataset(bop_root)
    bad['pipeline'] = bad['pipeline'][1:]
    with pytest.raises(ValueError, match='must start with LoadImageAndMask'):
        DATASETS.build(dict(type='FrameCacheDataset', dataset=bad,
                            cache_dir=str(tmp_path)))
    with pytest.raises(ValueError, match="mode 'full'"):
        cached(bop_root, tmp_path, dict(mode='full', out_size=32))
    ds = cached(bop_root, tmp_path / 'c')
    ds._open()
    ds._meta['valid'][3] = False
    with pytest.raises(DataError, match='000003.png: frame was unreadable'):
        ds.cached_crop(3)
    assert ds.prepare_data(3) is None  # training skips it


def test_runner_dataloader_with_a_worker(bop_root, tmp_path):
    """The Runner builds the cache in the main process (full_init) and a
    loader process reads it through its own memory map."""
    from mmengine.runner import Runner
    tail = (dict(type='PackPoseInputs'), )
    cfg = dict(batch_size=8, num_workers=1, persistent_workers=False,
               sampler=dict(type='DefaultSampler', shuffle=False),
               dataset=dict(type='FrameCacheDataset', lazy_init=True,
                            cache_dir=str(tmp_path / 'cache'),
                            dataset=pose_dataset(bop_root, tail=tail)))
    loader = Runner.build_dataloader(cfg, seed=0)
    assert os.listdir(tmp_path / 'cache')  # built before the worker ran
    batch = next(iter(loader))
    assert len(batch['inputs']) == 8
    assert [s.im_id for s in batch['data_samples']] == list(range(8))
