"""Determinism, depth, border-cut frames, output-folder safety and the CLI,
on a few tiny (160 x 120) generations."""
import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import trimesh
from scipy.spatial import cKDTree
from synthetic_helpers import EDGE_SLACK

from posessl.geometry import project_points
from posessl.synthetic import LINEMOD_K, generate_synthetic_linemod
from tests.test_engine._cli import load_tool

# every test here renders: skipped with the reason where EGL is missing
pytestmark = pytest.mark.usefixtures('egl')

W, H = 160, 120
# seed 79: six of object 1's eight train frames are cut by the image border
TINY = dict(num_objects=2, train_frames=8, test_frames=3, width=W, height=H,
            depth=True, densefusion=True, progress=False)


def _hashes(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).digest()
            for p in sorted(root.rglob('*')) if p.is_file()}


@pytest.fixture(scope='module')
def tiny_sets(tmp_path_factory):
    base = tmp_path_factory.mktemp('tiny')
    return [Path(generate_synthetic_linemod(base / name, seed=seed, **TINY))
            for name, seed in (('a', 79), ('b', 79), ('c', 80))]


def test_same_seed_gives_byte_identical_files(tiny_sets):
    a, b, _ = tiny_sets
    ha, hb = _hashes(a), _hashes(b)
    # 2 objects x 11 frames x (rgb, mask, mask_visib, depth, DenseFusion
    # rgb, mask, depth) plus models and annotations
    assert len(ha) > 2 * 11 * 7
    assert ha == hb


def test_another_seed_gives_other_data(tiny_sets):
    a, _, c = tiny_sets
    ha, hc = _hashes(a), _hashes(c)
    assert ha.keys() == hc.keys()
    changed = {k for k in ha if ha[k] != hc[k]}
    for k in ha:
        if k.endswith('.ply') or '/rgb/' in k or k.endswith('scene_gt.json'):
            assert k in changed, k


def test_depth_is_the_camera_z_of_the_model_surface(tiny_sets):
    root = tiny_sets[0]
    camera = json.loads((root / 'camera.json').read_text())
    assert camera['depth_scale'] == 1.0
    for obj_id in (1, 2):
        mesh = trimesh.load(root / 'models' / f'obj_{obj_id:06d}.ply',
                            process=False)
        v = np.asarray(mesh.vertices)
        edges = np.linalg.norm(v[mesh.faces] - v[np.roll(mesh.faces, 1, 1)],
                               axis=-1)
        bound = edges.max() / np.sqrt(3) + 1.0  # on a face, 0.5 mm rounding
        tree = cKDTree(v)
        scene = root / 'test' / f'{obj_id:06d}'
        gt = json.loads((scene / 'scene_gt.json').read_text())
        for im, entries in gt.items():
            R = np.array(entries[0]['cam_R_m2c']).reshape(3, 3)
            t = np.array(entries[0]['cam_t_m2c'])
            depth = cv2.imread(str(scene / 'depth' / f'{int(im):06d}.png'),
                               cv2.IMREAD_UNCHANGED)
            mask = cv2.imread(str(scene / 'mask' / f'{int(im):06d}_000000'
                                  '.png'), cv2.IMREAD_UNCHANGED) > 0
            assert depth.dtype == np.uint16
            assert np.all(depth[~mask] == 0) and np.all(depth[mask] > 0)
            # back-project every object pixel into the model frame
            K = np.array(json.loads((scene / 'scene_camera.json')
                                    .read_text())[im]['cam_K']).reshape(3, 3)
            vs, us = np.nonzero(mask)
            z = depth[vs, us].astype(np.float64)
            rays = np.linalg.solve(K, np.stack([us, vs, np.ones_like(us)]))
            cam = (rays * z).T
            model = (cam - t) @ R  # R^T (x - t)
            d, _ = tree.query(model)
            assert d.max() <= bound, (obj_id, im, d.max(), bound)
            # the nearest surface is what the camera sees: depth is never
            # much beyond the closest vertex on that pixel's ray
            zc = v @ R[2] + t[2]
            assert z.min() >= zc.min() - 1.0 and z.max() <= zc.max() + 1.0


def test_border_cut_frames_record_the_full_silhouette(tiny_sets):
    root = tiny_sets[0]
    scene = root / 'train' / '000001'
    info = json.loads((scene / 'scene_gt_info.json').read_text())
    gt = json.loads((scene / 'scene_gt.json').read_text())
    K = np.array(json.loads((scene / 'scene_camera.json').read_text())
                 ['0']['cam_K']).reshape(3, 3)
    v = np.asarray(trimesh.load(root / 'models' / 'obj_000001.ply',
                                process=False).vertices)
    cut = 0
    for im, entries in info.items():
        e = entries[0]
        R = np.array(gt[im][0]['cam_R_m2c']).reshape(3, 3)
        uv = project_points(v, R, np.array(gt[im][0]['cam_t_m2c']), K)
        bx, by, bw, bh = e['bbox_obj']
        gap = np.r_[[bx, by] - uv.min(0), uv.max(0) - [bx + bw, by + bh]]
        assert np.all(gap > -1e-6) and np.all(gap <= EDGE_SLACK), (im, gap)
        x, y, w, h = e['bbox_visib']
        assert x >= 0 and y >= 0 and x + w <= W - 1 and y + h <= H - 1
        if bx < 0 or by < 0 or bx + bw > W - 1 or by + bh > H - 1:
            cut += 1
            assert e['px_count_all'] > e['px_count_visib']
            assert 0 < e['visib_fract'] < 1
        else:
            assert e['visib_fract'] == 1.0
    assert cut >= 2


def test_custom_size_scales_the_linemod_camera(tiny_sets):
    camera = json.loads((tiny_sets[0] / 'camera.json').read_text())
    assert (camera['width'], camera['height']) == (W, H)
    assert camera['fx'] == pytest.approx(LINEMOD_K[0, 0] / 4)
    assert camera['fy'] == pytest.approx(LINEMOD_K[1, 1] / 4)
    # pixel centres stay aligned: (c + 0.5) / 4 - 0.5
    assert camera['cx'] == pytest.approx((LINEMOD_K[0, 2] + 0.5) / 4 - 0.5)
    assert camera['cy'] == pytest.approx((LINEMOD_K[1, 2] + 0.5) / 4 - 0.5)


SMALL = dict(num_objects=1, train_frames=2, test_frames=1, width=64,
             height=48, progress=False)


def test_refuses_a_non_empty_folder_unless_overwrite(tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'notes.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='not empty') as info:
        generate_synthetic_linemod(out, **SMALL)
    assert str(out) in str(info.value)
    assert sorted(p.name for p in out.iterdir()) == ['notes.txt']
    # overwrite replaces the generator's own files (a stale scene goes)
    # and leaves anything else alone
    stale = out / 'train' / '000099'
    stale.mkdir(parents=True)
    generate_synthetic_linemod(out, overwrite=True, **SMALL)
    assert not stale.exists()
    assert (out / 'notes.txt').read_text() == 'keep me'
    assert len(list((out / 'train' / '000001' / 'rgb').iterdir())) == 2


def test_overwrite_keeps_a_users_file_inside_train(tmp_path, caplog):
    out = tmp_path / 'out'
    generate_synthetic_linemod(out, **SMALL)
    scene = out / 'train' / '000001'
    (scene / 'my_notes.txt').write_text('keep me')
    (out / 'train' / 'README').write_text('mine too')
    (scene / 'rgb' / '000007.png').write_bytes(b'stale frame')
    stale_scene = out / 'test' / '000099'
    (stale_scene / 'rgb').mkdir(parents=True)  # the generator's kind
    with caplog.at_level('WARNING', logger='posessl.synthetic.generator'):
        generate_synthetic_linemod(out, overwrite=True, **SMALL)
    assert (scene / 'my_notes.txt').read_text() == 'keep me'
    assert (out / 'train' / 'README').read_text() == 'mine too'
    # the generator's own folders were replaced: no stale frame or scene
    assert sorted(p.name for p in (scene / 'rgb').iterdir()) == [
        '000000.png', '000001.png']
    assert not stale_scene.exists()
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [f'{out}: overwrite kept 2 file(s) the generator '
                        'did not write: train/000001/my_notes.txt, '
                        'train/README']


@pytest.mark.parametrize('kwargs, message', [
    (dict(num_objects=0), 'num_objects'),
    (dict(train_frames=-1), 'train_frames'),
    (dict(width=8), 'width'),
    (dict(train_frames=9000, test_frames=2000, densefusion=True,
          test_recording='new'), 'DenseFusion'),
    (dict(train_frames=1100, test_frames=101), 'must be <= 1200'),
    (dict(test_recording='other'), 'test_recording'),
])
def test_rejects_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_synthetic_linemod(tmp_path / 'x', **{**SMALL, **kwargs})
    assert not (tmp_path / 'x').exists()


def test_rejects_a_file_as_output_folder(tmp_path):
    target = tmp_path / 'file.txt'
    target.write_text('x')
    with pytest.raises(NotADirectoryError, match='file.txt'):
        generate_synthetic_linemod(target, **SMALL)


def test_without_egl_nothing_is_written(tmp_path, monkeypatch):
    import moderngl

    def broken(**kwargs):
        raise Exception('eglGetDisplay failed')

    monkeypatch.setattr(moderngl, 'create_standalone_context', broken)
    with pytest.raises(RuntimeError, match='libegl1, libgl1 and '
                       'libgl1-mesa-dri'):
        generate_synthetic_linemod(tmp_path / 'out', **SMALL)
    assert not (tmp_path / 'out').exists()


def _cli():
    return load_tool('tools/make_synthetic_linemod.py')


def test_cli_writes_a_set_and_refuses_to_overwrite(tmp_path, capsys):
    cli = _cli()
    out = tmp_path / 'cli'
    args = [str(out), '--num-objects', '1', '--train-frames', '2',
            '--test-frames', '1', '--seed', '3', '--size', '64', '48',
            '--depth']
    assert cli.main(args) == 0
    captured = capsys.readouterr()
    assert 'frame' in captured.err  # the tqdm progress bar
    info = json.loads((out / 'dataset_info.json').read_text())
    assert info['seed'] == 3 and info['splits'] == {'train': 2, 'test': 1}
    assert (out / 'test' / '000001' / 'depth' / '000000.png').is_file()
    assert not (out / 'densefusion').exists()
    # a second run into the same folder fails with one clear line
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: ') and '\n' not in err
    assert str(out) in err and '--overwrite' in err
    assert cli.main(args + ['--overwrite']) == 0
