"""Both LINEMOD loaders on hand-made data and on the real LMO sample."""
import json
import os

import numpy as np
import pytest

from posessl.datasets import evenly_spaced_positions
from posessl.geometry import project_points
from posessl.registry import DATASETS

from . import builders
from .conftest import NUM_FRAMES, TRAIN_IDS


def _bop(root, **kw):
    # serialize_data=False skips MMEngine's gc.collect() (0.5 s per build
    # in a test process); the pipeline tests keep serialisation on
    kw.setdefault('serialize_data', False)
    return DATASETS.build(dict(type='LinemodBOPDataset', data_root=str(root),
                               **kw))


def _df(root, **kw):
    kw.setdefault('serialize_data', False)
    return DATASETS.build(dict(type='LinemodDenseFusionDataset',
                               data_root=str(root), **kw))


def _infos(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


def test_bop_schema_and_values(bop_root, handmade_frames):
    ds = _bop(bop_root, split='train')
    assert len(ds) == 2 * NUM_FRAMES
    for info in _infos(ds):
        frame = handmade_frames[info['obj_id']][info['im_id']]
        assert os.path.isabs(info['img_path'])
        assert info['img_path'].endswith(
            f"train/{info['obj_id']:06d}/rgb/{info['im_id']:06d}.png")
        assert info['mask_path'].endswith(
            f"mask_visib/{info['im_id']:06d}_000000.png")
        assert info['bbox'] == [float(v) for v in frame['bbox']]
        assert info['cam_K'].dtype == np.float64
        np.testing.assert_array_equal(info['cam_K'], builders.K)
        np.testing.assert_allclose(info['gt_R'], frame['R'], atol=1e-12)
        np.testing.assert_allclose(info['gt_t'], frame['t'], atol=1e-9)
        assert info['gt_R'].shape == (3, 3) and info['gt_t'].shape == (3,)
        assert info['scene_id'] == info['obj_id']
        assert info['ori_shape'] == (builders.HEIGHT, builders.WIDTH)
        assert info['has_pose'] is True
    # sorted by (obj_id, scene_id, im_id)
    keys = [(i['obj_id'], i['scene_id'], i['im_id']) for i in _infos(ds)]
    assert keys == sorted(keys)


def test_bop_metainfo(bop_root):
    ds = _bop(bop_root, split='train')
    meta = ds.metainfo
    assert meta['dataset_name'] == 'handmade'
    assert meta['obj_ids'] == (1, 2)
    assert meta['classes'] == ('box1', 'box2')  # dataset_info.json
    assert meta['symmetric_obj_ids'] == (2,)
    assert meta['units'] == 'mm'
    assert meta['diameters'][1] == pytest.approx(np.linalg.norm([60, 40,
                                                                 30]))
    for obj_id in (1, 2):
        verts = builders.box_mesh(obj_id).vertices
        pts = meta['model_points'][obj_id]
        assert pts.dtype == np.float32 and len(pts) == len(verts) <= 3000
        np.testing.assert_allclose(np.sort(pts, axis=0),
                                   np.sort(verts, axis=0), atol=1e-4)
    # a smaller sample is a deterministic subset of the vertices
    a = _bop(bop_root, split='train', num_model_points=50)
    b = _bop(bop_root, split='train', num_model_points=50)
    pa = a.metainfo['model_points'][1]
    assert pa.shape == (50, 3)
    np.testing.assert_array_equal(pa, b.metainfo['model_points'][1])
    verts = builders.box_mesh(1).vertices.astype(np.float32)
    assert all(np.any(np.all(np.isclose(verts, p, atol=1e-4), axis=1))
               for p in pa)
    # overrides
    c = _bop(bop_root, split='train', obj_ids=[2], symmetric_obj_ids=[],
             metainfo=dict(dataset_name='x'))
    assert c.metainfo['obj_ids'] == (2,) and len(c) == NUM_FRAMES
    assert c.metainfo['symmetric_obj_ids'] == ()
    assert c.metainfo['dataset_name'] == 'x'


def test_evenly_spaced_rule_hand_computed():
    # n = 24, fraction 0.25: k = 6 at floor((i + 0.5) * 4)
    assert evenly_spaced_positions(24, 0.25).tolist() == [2, 6, 10, 14, 18,
                                                          22]
    assert evenly_spaced_positions(10, 1.0).tolist() == list(range(10))
    assert evenly_spaced_positions(7, 0.01).tolist() == [3]  # at least one
    assert evenly_spaced_positions(10, 0.15).tolist() == [2, 7]  # k=2 (1.5)


def test_label_fraction_is_deterministic_sized_and_nested(bop_root):
    full = _bop(bop_root, split='train')
    part = _bop(bop_root, split='train', label_fraction=0.25)
    again = _bop(bop_root, split='train', label_fraction=0.25)
    assert len(part) == len(full)  # unlabelled frames stay (has_pose False)
    labelled = [(i['obj_id'], i['im_id']) for i in _infos(part)
                if i['has_pose']]
    assert labelled == [(i['obj_id'], i['im_id']) for i in _infos(again)
                        if i['has_pose']]
    assert labelled == [(o, p) for o in (1, 2)
                        for p in (2, 6, 10, 14, 18, 22)]
    only = _bop(bop_root, split='train', label_fraction=0.25,
                labelled_only=True)
    assert [(i['obj_id'], i['im_id']) for i in _infos(only)] == labelled
    assert all(i['has_pose'] for i in _infos(only))
    # nested inside the training part of the split rule
    train = _bop(bop_root, split='train', subset='train', train_ratio=0.5)
    train_ids = {(i['obj_id'], i['im_id']) for i in _infos(train)}
    assert len(train_ids) == 2 * 12
    lab = _bop(bop_root, split='train', subset='train', train_ratio=0.5,
               label_fraction=0.25, labelled_only=True)
    lab_ids = {(i['obj_id'], i['im_id']) for i in _infos(lab)}
    assert len(lab_ids) == 2 * 3 and lab_ids < train_ids
    with pytest.raises(ValueError, match=r'label_fraction must be in '
                       r'\[0, 1\], got -0.1'):
        _bop(bop_root, split='train', label_fraction=-0.1)
    # 0: an unlabelled pool, every frame kept without its pose
    none = _bop(bop_root, split='train', label_fraction=0.0)
    assert len(none) == len(full)
    assert not any(i['has_pose'] for i in _infos(none))
    assert len(_bop(bop_root, split='train', label_fraction=0.0,
                    labelled_only=True)) == 0
    assert evenly_spaced_positions(24, 0.0).tolist() == []


def test_split_rule_partitions_each_sequence(bop_root):
    train = _bop(bop_root, split='train', subset='train', train_ratio=0.25)
    test = _bop(bop_root, split='train', subset='test', train_ratio=0.25)
    tr = [(i['obj_id'], i['im_id']) for i in _infos(train)]
    te = [(i['obj_id'], i['im_id']) for i in _infos(test)]
    assert tr == [(o, p) for o in (1, 2) for p in (2, 6, 10, 14, 18, 22)]
    assert not set(tr) & set(te)
    assert len(tr) + len(te) == 2 * NUM_FRAMES


def test_split_file_forms(bop_root, tmp_path):
    (tmp_path / 'box1_train.txt').write_text('0\n000005\n\n7\n')
    (tmp_path / 'box2_train.txt').write_text('rgb/000003.png\n')
    ds = _bop(bop_root, split='train',
              split_file=str(tmp_path / '{name}_train.txt'))
    assert [(i['obj_id'], i['im_id']) for i in _infos(ds)] == [(1, 0), (1, 5),
                                                               (1, 7), (2, 3)]
    ds = _bop(bop_root, split='train', obj_ids=[1],
              split_file={1: str(tmp_path / 'box2_train.txt')})
    assert [i['im_id'] for i in _infos(ds)] == [3]


def test_mask_fallbacks(tmp_path, handmade_frames):
    only_full = builders.write_bop(tmp_path / 'a', {1: handmade_frames[1]},
                                   mask_dir='mask')
    ds = _bop(only_full, split='train')
    assert ds.get_data_info(0)['mask_path'].endswith('mask/000000_000000.png')
    no_masks = builders.write_bop(tmp_path / 'b', {1: handmade_frames[1]},
                                  mask_dir=None)
    ds = _bop(no_masks, split='train')
    assert all(i['mask_path'] is None for i in _infos(ds))
    # without scene_gt_info.json the box is the projected model's box
    os.remove(no_masks / 'train' / '000001' / 'scene_gt_info.json')
    ds = _bop(no_masks, split='train')
    for info in _infos(ds):
        box = handmade_frames[1][info['im_id']]['bbox']
        np.testing.assert_allclose(info['bbox'], box, atol=1.0)


def test_densefusion_matches_bop(bop_root, df_root, handmade_frames):
    bop = _bop(bop_root, split='train')
    df_all = _df(df_root, split='all')
    assert len(df_all) == len(bop)
    for a, b in zip(_infos(bop), _infos(df_all)):
        for key in ('obj_id', 'scene_id', 'im_id', 'bbox', 'ori_shape',
                    'has_pose'):
            assert a[key] == b[key]
        for key in ('cam_K', 'gt_R', 'gt_t'):
            np.testing.assert_allclose(a[key], b[key], atol=1e-9)
        assert b['mask_path'].endswith(f"mask/{b['im_id']:04d}.png")
    assert df_all.metainfo['obj_ids'] == (1, 2)
    assert df_all.metainfo['classes'] == ('ape', 'benchvise')  # LINEMOD
    assert df_all.metainfo['symmetric_obj_ids'] == ()
    np.testing.assert_array_equal(df_all.metainfo['model_points'][1],
                                  bop.metainfo['model_points'][1])
    train = _df(df_root, split='train')
    assert [(i['obj_id'], i['im_id']) for i in _infos(train)] == [
        (o, i) for o in (1, 2) for i in TRAIN_IDS[o]
    ]
    test = _df(df_root, split='test')
    assert len(train) + len(test) == len(df_all)


def test_densefusion_multi_object_gt(tmp_path, handmade_frames):
    """data/02/gt.yml lists several objects per frame: take object 2's."""
    import yaml
    root = builders.write_densefusion(tmp_path / 'df', handmade_frames,
                                      TRAIN_IDS)
    gt_path = root / 'data' / '02' / 'gt.yml'
    gt = yaml.safe_load(gt_path.read_text())
    for im, anns in gt.items():
        other = dict(anns[0], obj_id=1, obj_bb=[0, 0, 5, 5],
                     cam_t_m2c=[0.0, 0.0, 999.0])
        gt[im] = [other] + anns  # object 1 listed first
    gt_path.write_text(yaml.safe_dump(gt))
    ds = _df(root, split='all', obj_ids=[2])
    for info in _infos(ds):
        frame = handmade_frames[2][info['im_id']]
        np.testing.assert_allclose(info['gt_t'], frame['t'])
        assert info['bbox'] == [float(v) for v in frame['bbox']]


def test_real_sample_projection_inside_bbox_obj(lmo_sample_root):
    ds = _bop(lmo_sample_root, split='test')
    meta = ds.metainfo
    assert meta['obj_ids'] == (1, 9) and meta['classes'] == ('ape', 'duck')
    assert meta['diameters'] == {1: 102.099, 9: 108.999}
    assert meta['symmetric_obj_ids'] == ()  # neither is eggbox/glue
    gt_info = json.loads(
        (lmo_sample_root / 'test' / '000002' / 'scene_gt_info.json'
         ).read_text())
    gt = json.loads((lmo_sample_root / 'test' / '000002' /
                     'scene_gt.json').read_text())
    apes = [i for i in _infos(ds) if i['obj_id'] == 1]
    assert len(apes) == 20
    for info in apes:
        assert info['mask_path'] is None  # no masks: the box is used
        idx = [a['obj_id'] for a in gt[str(info['im_id'])]].index(1)
        x, y, w, h = gt_info[str(info['im_id'])][idx]['bbox_obj']
        uv = project_points(meta['model_points'][1].astype(np.float64),
                            info['gt_R'], info['gt_t'], info['cam_K'])
        tol = 2.0
        assert uv[:, 0].min() >= x - tol and uv[:, 0].max() <= x + w + tol
        assert uv[:, 1].min() >= y - tol and uv[:, 1].max() <= y + h + tol
        # and it fills the box: the extremes are within the tolerance too
        assert uv[:, 0].min() <= x + tol and uv[:, 0].max() >= x + w - tol
    # the duck is not annotated in frame 543
    assert len(ds) == 39
    # min_visib_fract keeps exactly the annotations visible enough
    visible = _bop(lmo_sample_root, split='test', min_visib_fract=0.5)
    expected = sum(
        1 for im, anns in gt.items() for a, b in zip(anns, gt_info[im])
        if a['obj_id'] in (1, 9) and b['visib_fract'] >= 0.5)
    assert 0 < len(visible) == expected < 39


def test_scene_selection(bop_root):
    ds = _bop(bop_root, split='train', scene_ids=[2], obj_ids=[2])
    assert {i['scene_id'] for i in _infos(ds)} == {2}
    assert len(ds) == NUM_FRAMES
    # the default objects (all of models_info) must all be in the scenes
    with pytest.raises(ValueError, match='000002/scene_gt.json: object 1 '
                       'does not appear in the ground truth'):
        _bop(bop_root, split='train', scene_ids=[2])
    with pytest.raises(FileNotFoundError, match='000009: scene folder not '
                       'found'):
        _bop(bop_root, split='train', scene_ids=[9])


def _lmo_real(root, **kw):
    return _bop(root, split='test', scene_ids=[2], obj_ids=[1, 9], **kw)


def test_split_rule_keeps_images_whole_in_a_multi_object_scene(
        lmo_real_root):
    images = sorted(int(k) for k in json.loads(
        (lmo_real_root / 'test' / '000002' / 'scene_gt.json').read_text()))
    train = _lmo_real(lmo_real_root, subset='train', train_ratio=0.5)
    test = _lmo_real(lmo_real_root, subset='test', train_ratio=0.5)
    train_ims = {i['im_id'] for i in _infos(train)}
    test_ims = {i['im_id'] for i in _infos(test)}
    # 100 images, k = 50 at floor((i + 0.5) * 2) = 1, 3, 5, ...: every
    # other image of the recording, whichever objects it shows
    assert sorted(train_ims) == images[1::2]
    assert sorted(test_ims) == images[0::2]
    assert len(train) + len(test) == len(_lmo_real(lmo_real_root)) == 189
    # the labels are a fraction of each object's own training frames
    lab = _lmo_real(lmo_real_root, subset='train', train_ratio=0.5,
                    label_fraction=0.1, labelled_only=True)
    per_obj = {o: [i['im_id'] for i in _infos(lab) if i['obj_id'] == o]
               for o in (1, 9)}
    for obj_id, ids in per_obj.items():
        pool = sorted(i['im_id'] for i in _infos(train)
                      if i['obj_id'] == obj_id)
        assert ids == [pool[p] for p in evenly_spaced_positions(len(pool),
                                                                0.1)]
        assert len(ids) == 5


def test_mask_type_picks_the_silhouette(lmo_real_root, tmp_path):
    scene = lmo_real_root / 'test' / '000002'
    info = json.loads((scene / 'scene_gt_info.json').read_text())
    gt = json.loads((scene / 'scene_gt.json').read_text())
    sets = {t: _lmo_real(lmo_real_root, mask_type=t)
            for t in ('visib', 'amodal', 'box')}
    assert [i['mask_path'] for i in _infos(sets['box'])] == [None] * 189
    from posessl.datasets.transforms.loading import read_mask
    for visib, amodal in zip(_infos(sets['visib']), _infos(sets['amodal'])):
        assert '/mask_visib/' in visib['mask_path']
        assert '/mask/' in amodal['mask_path']
        assert visib['bbox'] == amodal['bbox']  # bbox_visib either way
        n_vis = read_mask(visib['mask_path']).sum()
        n_all = read_mask(amodal['mask_path']).sum()
        assert n_vis <= n_all  # the visible part of the whole silhouette
        # inside the image, the whole silhouette is BOP's px_count_all
        # within 3 % (BOP counts the part outside the image too)
        k = [a['obj_id'] for a in gt[str(amodal['im_id'])]].index(
            amodal['obj_id'])
        x, y, w, h = info[str(amodal['im_id'])][k]['bbox_obj']
        if x >= 0 and y >= 0 and x + w < 640 and y + h < 480:
            assert abs(n_all / info[str(amodal['im_id'])][k][
                'px_count_all'] - 1) < 0.03
    with pytest.raises(ValueError, match="mask_type must be one of"):
        _lmo_real(lmo_real_root, mask_type='full')


def test_amodal_masks_must_exist(tmp_path, handmade_frames):
    only_visib = builders.write_bop(tmp_path / 'a', {1: handmade_frames[1]},
                                    mask_dir='mask_visib')
    with pytest.raises(FileNotFoundError, match=r"000001/mask: "
                       r"mask_type='amodal' needs the whole-silhouette"):
        _bop(only_visib, split='train', mask_type='amodal')
