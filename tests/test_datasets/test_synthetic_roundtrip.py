"""A generated synthetic set through both loaders and the crop pipeline."""
import numpy as np
import pytest

from posessl.datasets.transforms import read_mask
from posessl.geometry import project_points
from posessl.registry import DATASETS, TRANSFORMS


@pytest.fixture(scope='module')
def synthetic(request):
    """The session's synthetic set, or skip where there is no generator."""
    synthetic = pytest.importorskip('posessl.synthetic')
    if not hasattr(synthetic, 'generate_synthetic_linemod'):
        pytest.skip('posessl.synthetic.generate_synthetic_linemod missing')
    return request.getfixturevalue('synthetic_root')


def _load(kind, root, **kw):
    if kind == 'bop':
        cfg = dict(type='LinemodBOPDataset', data_root=str(root))
    else:
        cfg = dict(type='LinemodDenseFusionDataset',
                   data_root=str(root / 'densefusion'))
    cfg.update(serialize_data=False, **kw)
    return DATASETS.build(cfg)


def _infos(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


@pytest.mark.parametrize('split', ['train', 'test'])
def test_both_loaders_agree(synthetic, split):
    bop = _infos(_load('bop', synthetic, split=split))
    df = _infos(_load('df', synthetic, split=split))
    from tests.conftest import SYNTHETIC_TINY
    per_obj = SYNTHETIC_TINY[f'{split}_frames']
    assert len(bop) == len(df) == SYNTHETIC_TINY['num_objects'] * per_obj
    # DenseFusion numbers a sequence's frames across both splits, BOP per
    # split folder: pair them by sequence order
    for a, b in zip(bop, df):
        assert a['obj_id'] == b['obj_id'] == a['scene_id'] == b['scene_id']
        np.testing.assert_allclose(a['gt_R'], b['gt_R'], atol=1e-9)
        np.testing.assert_allclose(a['gt_t'], b['gt_t'], atol=1e-6)
        np.testing.assert_allclose(a['cam_K'], b['cam_K'], atol=1e-9)
        assert a['bbox'] == b['bbox']
        assert a['ori_shape'] == b['ori_shape'] == (
            SYNTHETIC_TINY['height'], SYNTHETIC_TINY['width'])
    for a, b in list(zip(bop, df))[::7]:
        np.testing.assert_array_equal(read_mask(a['mask_path']),
                                      read_mask(b['mask_path']))


def test_metainfo(synthetic):
    bop = _load('bop', synthetic, split='train')
    df = _load('df', synthetic, split='train')
    meta = bop.metainfo
    assert meta['obj_ids'] == (1, 2, 3)
    assert meta['symmetric_obj_ids'] == (2,)  # from dataset_info.json
    assert meta['dataset_name'] == 'synthetic_linemod'
    assert len(set(meta['classes'])) == 3
    # the DenseFusion copy carries the same dataset_info.json
    assert df.metainfo['symmetric_obj_ids'] == (2,)
    assert df.metainfo['classes'] == meta['classes']
    for obj_id in meta['obj_ids']:
        assert meta['diameters'][obj_id] == pytest.approx(
            df.metainfo['diameters'][obj_id])
        pts = meta['model_points'][obj_id]
        assert pts.dtype == np.float32 and 0 < len(pts) <= 3000
        np.testing.assert_array_equal(pts, df.metainfo['model_points'][obj_id])
        # the diameter bounds the sampled points' spread
        spread = np.linalg.norm(pts.max(0) - pts.min(0))
        assert spread <= meta['diameters'][obj_id] * np.sqrt(3) + 1e-3


def test_label_fraction_subset(synthetic):
    from tests.conftest import SYNTHETIC_TINY
    n = SYNTHETIC_TINY['train_frames']
    runs = [
        _load(kind, synthetic, split='train', label_fraction=0.1,
              labelled_only=True) for kind in ('bop', 'bop', 'df')
    ]
    keys = [[(i['obj_id'], i['im_id']) for i in _infos(ds)] for ds in runs]
    assert keys[0] == keys[1]  # deterministic
    assert keys[0] == keys[2]  # the same frames through either loader
    k = max(1, int(np.floor(0.1 * n + 0.5)))
    assert len(keys[0]) == SYNTHETIC_TINY['num_objects'] * k
    train = {(i['obj_id'], i['im_id'])
             for i in _infos(_load('bop', synthetic, split='train'))}
    assert set(keys[0]) <= train
    # evenly spaced along each sequence
    for obj_id in (1, 2, 3):
        ids = [im for o, im in keys[0] if o == obj_id]
        assert ids == [int((j + 0.5) * n / k) for j in range(k)]


def test_crop_of_generated_frames(synthetic):
    """Model points projected with crop_K fill the cropped mask's box."""
    ds = _load('bop', synthetic, split='test', pipeline=[
        dict(type='LoadImageAndMask', skip_bad=False),
    ])
    crop = TRANSFORMS.build(dict(type='MaskCenteredCrop', out_size=64,
                                 mode='zoom', scale=1.5))
    pts = {i: ds.metainfo['model_points'][i].astype(np.float64)
           for i in ds.metainfo['obj_ids']}
    checked = 0
    for idx in range(0, len(ds), 3):
        x, y, w, h = ds.get_data_info(idx)['bbox']
        H, W = ds.get_data_info(idx)['ori_shape']
        if x <= 0 or y <= 0 or x + w >= W - 1 or y + h >= H - 1:
            continue  # cut by the image border: the mask is truncated
        res = crop.transform(ds[idx])
        uv = project_points(pts[res['obj_id']], res['gt_R'], res['gt_t'],
                            res['crop_K'])
        v, u = np.nonzero(res['mask'])
        # the mask was rendered from the same model: boxes agree to about
        # a pixel (nearest-neighbour mask crop, sampled model points)
        tol = 1.5
        assert abs(u.min() - uv[:, 0].min()) <= tol
        assert abs(u.max() - uv[:, 0].max()) <= tol
        assert abs(v.min() - uv[:, 1].min()) <= tol
        assert abs(v.max() - uv[:, 1].max()) <= tol
        checked += 1
    assert checked >= 5
