"""The real-mesh mode of the generator: real BOP models over real
photographs. The geometric checks shared with the procedural set
(projection inside the mask, gt_info) run on both in
``test_generated_set.py``; here: what is particular to real models and
photographs, and their bad inputs."""
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import trimesh

from posessl.errors import DataError
from posessl.geometry import project_points
from posessl.synthetic import generate_synthetic_linemod
from posessl.synthetic.bop_objects import load_bop_objects
from posessl.synthetic.photos import PhotoBackdrop, composite, photo_files

REPO = Path(__file__).resolve().parents[2]


def _json(path: Path):
    return json.loads(path.read_text())


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_models_and_names_are_the_sources(realmesh_root: Path,
                                          lmo_models: Path):
    info = _json(realmesh_root / 'dataset_info.json')
    assert info['name'] == 'synthetic_linemod_realmesh'
    assert info['objects'] == {'1': 'ape', '9': 'duck'}
    assert info['symmetric_obj_ids'] == []
    assert info['distance_range_mm'] == [600.0, 1300.0]
    # the model files and models_info are the source's, unchanged
    for obj_id in (1, 9):
        name = f'obj_{obj_id:06d}.ply'
        assert _sha(realmesh_root / 'models' / name) == _sha(lmo_models
                                                             / name)
    assert _json(realmesh_root / 'models' / 'models_info.json') == _json(
        lmo_models / 'models_info.json')
    # every test frame is a BOP target, one instance each
    targets = _json(realmesh_root / 'test_targets_bop19.json')
    assert targets == [{'im_id': i, 'inst_count': 1, 'obj_id': o,
                        'scene_id': o} for o in (1, 9) for i in range(10)]


def test_camera_stays_at_linemod_distances(realmesh_root: Path):
    for split in ('train', 'test'):
        for obj_id in (1, 9):
            gt = _json(realmesh_root / split / f'{obj_id:06d}'
                       / 'scene_gt.json')
            dist = np.array([np.linalg.norm(e[0]['cam_t_m2c'])
                             for e in gt.values()])
            assert np.all((dist >= 600.0 - 1e-6) & (dist <= 1300.0 + 1e-6))


def test_depth_is_the_visible_front_surface(realmesh_root: Path):
    """Depth inside the mask is the surface nearest the camera: it matches a
    brute-force z-buffer of the model's projected vertices (the nearest
    vertex landing in each pixel), not the furthest (a reversed winding
    would show the back faces)."""
    for obj_id in (1, 9):
        scene = realmesh_root / 'train' / f'{obj_id:06d}'
        gt = _json(scene / 'scene_gt.json')
        cam = _json(scene / 'scene_camera.json')
        verts = np.asarray(trimesh.load(
            realmesh_root / 'models' / f'obj_{obj_id:06d}.ply',
            process=False).vertices)
        for im in ('0', '10', '20'):
            R = np.array(gt[im][0]['cam_R_m2c']).reshape(3, 3)
            t = np.array(gt[im][0]['cam_t_m2c'])
            K = np.array(cam[im]['cam_K']).reshape(3, 3)
            depth = cv2.imread(str(scene / 'depth' / f'{int(im):06d}.png'),
                               cv2.IMREAD_UNCHANGED).astype(float)
            z = (verts @ R.T + t)[:, 2]
            uv = np.round(project_points(verts, R, t, K)).astype(int)
            inside = ((uv[:, 0] >= 0) & (uv[:, 0] < depth.shape[1])
                      & (uv[:, 1] >= 0) & (uv[:, 1] < depth.shape[0]))
            near = np.full(depth.shape, np.inf)
            far = np.full(depth.shape, -np.inf)
            np.minimum.at(near, (uv[inside, 1], uv[inside, 0]), z[inside])
            np.maximum.at(far, (uv[inside, 1], uv[inside, 0]), z[inside])
            hit = np.isfinite(near) & (depth > 0) & (far - near > 10.0)
            assert hit.sum() > 50
            # near the nearest vertex (depth PNGs are whole mm, and a
            # pixel's vertices need not sit at its centre), far from the
            # furthest
            err_near = np.abs(depth[hit] - near[hit])
            assert np.median(err_near) < 2.0
            assert np.mean(err_near < np.abs(depth[hit] - far[hit])) > 0.95


def test_background_is_a_photograph_outside_the_mask(realmesh_root: Path):
    """Outside the mask each frame is a window of one photograph (enlarged
    1.25x) under one RGB exposure gain: a brute-force search over every
    photograph and every whole-pixel window, on 400 background pixels,
    finds one that fits to the rounding of 8-bit values."""
    photos = [cv2.resize(cv2.imread(str(p)), (800, 600),
                         interpolation=cv2.INTER_AREA).astype(float)
              for p in photo_files(str(REPO / '..' / 'shared' / 'data'
                                       / 'lmo_sample' / 'test' / '000002'
                                       / 'rgb'))]
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[0:121, 0:161]
    offsets = np.stack([ys.ravel(), xs.ravel()], 1)  # every window
    for obj_id, im in ((1, 0), (9, 7)):
        scene = realmesh_root / 'train' / f'{obj_id:06d}'
        img = cv2.imread(str(scene / 'rgb' / f'{im:06d}.png')).astype(float)
        mask = cv2.imread(str(scene / 'mask' / f'{im:06d}_000000.png'),
                          cv2.IMREAD_UNCHANGED) > 0
        v, u = np.nonzero(~mask & (img.max(2) < 250) & (img.min(2) > 5))
        pick = rng.choice(len(v), 400, replace=False)
        v, u = v[pick], u[pick]
        seen = img[v, u]  # (400, 3)
        best = np.inf
        for photo in photos:
            cand = photo[offsets[:, :1] + v, offsets[:, 1:] + u]  # (W,400,3)
            gain = (cand * seen).sum(1) / np.maximum(
                (cand * cand).sum(1), 1e-9)  # least squares per channel
            err = np.abs(cand * gain[:, None] - seen).max(2).mean(1)
            best = min(best, float(err.min()))
        assert best < 1.0, (obj_id, im, best)


def _backdrop_folder(tmp_path: Path, colours) -> Path:
    folder = tmp_path / 'photos'
    folder.mkdir()
    for i, c in enumerate(colours):
        img = np.zeros((30, 40, 3), np.uint8)
        img[:] = c[::-1]  # BGR on disk
        # a horizontal ramp in the red channel shows the pan
        img[..., 2] = np.linspace(0, 200, 40).astype(np.uint8)[None, :]
        cv2.imwrite(str(folder / f'{i:02d}.png'), img)
    return folder


def test_backdrop_picks_the_sector_and_pans(tmp_path: Path):
    colours = [(0, 10, 20), (0, 110, 120), (0, 210, 220), (0, 50, 60)]
    backdrop = PhotoBackdrop(str(_backdrop_folder(tmp_path, colours)),
                             width=32, height=24)
    assert len(backdrop) == 4
    # four photographs: 90 degrees each; green identifies the photograph
    for azimuth, index in ((0, 0), (89.9, 0), (90, 1), (200, 2), (359, 3),
                           (-1, 3), (361, 0)):
        bg = backdrop.background(azimuth, 45.0)
        assert bg.shape == (24, 32, 3) and bg.dtype == np.uint8
        assert abs(int(bg[..., 1].mean()) - colours[index][1]) <= 1
    # the offset turns the room
    assert abs(int(backdrop.background(0, 45, offset=90)[..., 1].mean())
               - colours[1][1]) <= 1
    # panning across a sector moves the window right: the red ramp rises
    reds = [backdrop.background(a, 45.0)[..., 0].mean() for a in
            (0, 30, 60, 89)]
    assert all(b > a for a, b in zip(reds, reds[1:]))


def test_composite_keeps_the_object_and_exposes_the_photo():
    render = np.full((2, 2, 3), 7, np.uint8)
    mask = np.array([[True, False], [False, False]])
    bg = np.full((2, 2, 3), 100, np.uint8)
    out = composite(render, mask, bg, np.array([1.0, 1.5, 3.0]))
    np.testing.assert_array_equal(out[0, 0], [7, 7, 7])
    np.testing.assert_array_equal(out[1, 1], [100, 150, 255])  # clipped


# ------------------------------------------------------------ bad inputs
def _models_copy(tmp_path: Path, lmo_models: Path) -> Path:
    folder = tmp_path / 'models'
    shutil.copytree(lmo_models, folder)
    return folder


def test_models_without_colours_are_refused(tmp_path, lmo_models):
    folder = _models_copy(tmp_path, lmo_models)
    path = folder / 'obj_000001.ply'
    mesh = trimesh.load(path, process=False)
    plain = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    path.write_bytes(trimesh.exchange.ply.export_ply(plain))
    with pytest.raises(DataError, match=r'obj_000001\.ply: the model has no '
                       'vertex colours'):
        load_bop_objects(str(folder))


def test_models_in_metres_are_refused(tmp_path, lmo_models):
    folder = _models_copy(tmp_path, lmo_models)
    path = folder / 'obj_000009.ply'
    mesh = trimesh.load(path, process=False)
    mesh.vertices = mesh.vertices / 1000.0
    path.write_bytes(trimesh.exchange.ply.export_ply(mesh))
    with pytest.raises(DataError, match=r'obj_000009\.ply: the model is '
                       r'0\.1\d* units across, which looks like metres'):
        load_bop_objects(str(folder), [9])


def test_models_info_must_match_the_model(tmp_path, lmo_models):
    folder = _models_copy(tmp_path, lmo_models)
    info = _json(folder / 'models_info.json')
    info['1']['diameter'] = 150.0
    (folder / 'models_info.json').write_text(json.dumps(info))
    with pytest.raises(DataError, match=r'models_info\.json: object 1 has '
                       r'diameter 150 mm but obj_000001\.ply spans '
                       r'102\.099 mm'):
        load_bop_objects(str(folder), [1])
    with pytest.raises(DataError, match=r'models_info\.json: no entry for '
                       r'object\(s\) \[5\] \(it lists \[1, 9\]\)'):
        load_bop_objects(str(folder), [1, 5])
    (folder / 'models_info.json').unlink()
    with pytest.raises(FileNotFoundError, match='models_info.json'):
        load_bop_objects(str(folder))


def test_bad_background_folders_are_refused(tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'notes.txt').write_text('no photographs here')
    with pytest.raises(DataError, match=r'empty: no photographs in the '
                       'background folder'):
        PhotoBackdrop(str(empty), 64, 48)
    broken = tmp_path / 'broken'
    broken.mkdir()
    (broken / 'a.png').write_text('not a png')
    with pytest.raises(DataError, match=r'a\.png: cannot read the '
                       'photograph'):
        PhotoBackdrop(str(broken), 64, 48)
    with pytest.raises(FileNotFoundError, match='background folder not '
                       'found'):
        PhotoBackdrop(str(tmp_path / 'missing'), 64, 48)


def test_cli_reports_bad_input_in_one_line(tmp_path, lmo_models):
    empty = tmp_path / 'empty'
    empty.mkdir()
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'make_synthetic_linemod.py'),
         str(tmp_path / 'out'), '--models-dir', str(lmo_models),
         '--backgrounds-dir', str(empty)],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f'error: {empty}: no photographs in the background folder (looked '
        'for .png, .jpg, .jpeg, .bmp)']
    assert not (tmp_path / 'out').exists()  # nothing written


def test_procedural_options_do_not_mix_with_real_models(tmp_path,
                                                        lmo_models):
    with pytest.raises(ValueError, match='with models_dir choose the real '
                       'models with obj_ids'):
        generate_synthetic_linemod(tmp_path / 'a', num_objects=2,
                                   models_dir=str(lmo_models))
    with pytest.raises(ValueError, match='give models_dir too'):
        generate_synthetic_linemod(tmp_path / 'b', obj_ids=[1])
