"""The renderer's camera convention, masks, depth, background and noise,
checked against hand-computed cases."""
import numpy as np
import pytest

from posessl.geometry import project_points
from posessl.rendering import Mesh, Renderer, projection_matrix
from posessl.rendering import renderer as render_module
from posessl.synthetic.meshes import box, grid_patch
from tests.cameras import LINEMOD_K

# every test here renders: skipped with the reason where EGL is missing
pytestmark = pytest.mark.usefixtures('egl')

W, H = 640, 480
FLAT = dict(light_dir=np.array([0.0, 0.0, -1.0]), ambient=1.0, diffuse=0.0,
            specular=0.0, shininess=1.0, gain=np.ones(3),
            background_gain=1.0, noise_std=0.0, seed=0)
FACE_COLOURS = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255],
                         [255, 255, 0], [255, 0, 255], [0, 255, 255]],
                        np.uint8)  # +x, -x, +y, -y, +z, -z


def _faces_env(size: int = 8) -> np.ndarray:
    return np.broadcast_to(FACE_COLOURS[:, None, None, :],
                           (6, size, size, 3)).copy()


@pytest.fixture(scope='module')
def renderer():
    r = Renderer(W, H, LINEMOD_K)
    r.set_environment(_faces_env())
    yield r
    r.release()


def _square(colour=(200, 100, 50)):
    # 100 x 100 mm square in the z = 0 plane facing -z (towards a camera
    # at the origin looking down +z)
    mesh = grid_patch((-50, -50, 0), (0, 100, 0), (100, 0, 0), 4, 4)
    return mesh.painted(np.tile(np.array(colour, np.uint8), (25, 1)))


def _rect_mask(cols, rows):
    m = np.zeros((H, W), bool)
    m[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1] = True
    return m


def test_projection_matrix_maps_opencv_pixels_to_window_coordinates():
    P = projection_matrix(LINEMOD_K, W, H, 10.0, 5000.0)
    pts = np.array([[12.0, -30.0, 700.0], [-80.0, 45.0, 1300.0]])
    clip = np.c_[pts, np.ones(2)] @ P.T
    ndc = clip[:, :3] / clip[:, 3:]
    window = np.stack([(ndc[:, 0] + 1) * W / 2, (ndc[:, 1] + 1) * H / 2], 1)
    uv = project_points(pts, np.eye(3), np.zeros(3), LINEMOD_K)
    np.testing.assert_allclose(window, uv + 0.5, atol=1e-9)
    # depth range: near -> -1, far -> +1
    for z, expected in ((10.0, -1.0), (5000.0, 1.0)):
        c = P @ np.array([0.0, 0.0, z, 1.0])
        assert c[2] / c[3] == pytest.approx(expected)


def test_square_covers_exactly_the_pixel_centres_inside_it(renderer):
    # u = cx +- fx * 50 / 1000 = [296.6405, 353.8817] -> columns 297..353
    # v = cy +- fy * 50 / 1000 = [213.3705, 270.7275] -> rows 214..270
    # (a half-pixel error in the convention would shift one edge)
    renderer.set_mesh(_square())
    rgb, mask, depth = renderer.render(np.eye(3), np.array([0, 0, 1000.0]),
                                       **FLAT)
    np.testing.assert_array_equal(mask, _rect_mask((297, 353), (214, 270)))
    np.testing.assert_allclose(depth[mask], 1000.0, atol=1e-3)
    assert np.all(depth[~mask] == 0)
    # flat light, no noise: the vertex colour comes through unchanged
    assert np.abs(rgb[mask].astype(int) - [200, 100, 50]).max() <= 1


def test_closed_box_shows_its_near_face(renderer):
    # a cube of 100 mm at 1 m: the near face (z = 950) must win; wrong
    # winding with back-face culling would show the far face (z = 1050)
    renderer.set_mesh(box((100, 100, 100), 25.0))
    rgb, mask, depth = renderer.render(np.eye(3), np.array([0, 0, 1000.0]),
                                       **FLAT)
    # silhouette = near face: u = cx +- fx * 50 / 950 = [295.13, 355.39]
    # v = cy +- fy * 50 / 950 = [211.86, 272.24]
    np.testing.assert_array_equal(mask, _rect_mask((296, 355), (212, 272)))
    np.testing.assert_allclose(depth[mask], 950.0, atol=1e-3)


def test_padded_silhouette_matches_the_image_mask(renderer):
    renderer.set_mesh(box((120, 60, 90), 20.0))
    a = np.radians(35)
    R = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0],
                  [-np.sin(a), 0, np.cos(a)]])
    t = np.array([330.0, -40.0, 700.0])  # cut by the right border
    _, mask, _ = renderer.render(R, t, **FLAT)
    full = renderer.silhouette(R, t, W, H)
    assert full.shape == (3 * H, 3 * W)
    inner = full[H:2 * H, W:2 * W]
    assert np.count_nonzero(inner != mask) <= 2  # identical but for ties
    assert mask[:, -1].any()  # really cut
    assert full.sum() > mask.sum() + 500  # and the outside part is counted


def test_background_ray_picks_the_cube_face_in_view(renderer):
    renderer.set_mesh(_square())
    far = np.array([0.0, 0.0, -1000.0])  # object behind the camera
    centre = (int(round(LINEMOD_K[1, 2])), int(round(LINEMOD_K[0, 2])))
    # model-to-camera rotations whose optical axis looks along a model axis
    looks = {4: np.eye(3),  # +z
             0: np.array([[0, 0, -1], [0, 1, 0], [1, 0, 0.0]]),  # +x
             3: np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0.0]])}  # -y
    for face, R in looks.items():
        assert np.allclose(R.T @ [0, 0, 1], np.eye(3)[face // 2]
                           * (1 if face % 2 == 0 else -1))
        rgb, mask, _ = renderer.render(R, far, **FLAT)
        assert not mask.any()
        np.testing.assert_array_equal(rgb[centre], FACE_COLOURS[face])
    # rotating the environment by a half turn about z shows -x instead of +x
    half_turn = np.diag([-1.0, -1.0, 1.0])
    R = looks[0]
    rgb, _, _ = renderer.render(R, far, **{
        **FLAT, 'environment_rotation': half_turn})
    np.testing.assert_array_equal(rgb[centre], FACE_COLOURS[1])


def test_noise_has_the_requested_spread_and_follows_the_seed(renderer):
    renderer.set_mesh(_square((128, 128, 128)))
    t = np.array([0, 0, 1000.0])
    noisy = {**FLAT, 'noise_std': 0.02, 'seed': 7}
    rgb1, mask, _ = renderer.render(np.eye(3), t, **noisy)
    rgb2, _, _ = renderer.render(np.eye(3), t, **noisy)
    rgb3, _, _ = renderer.render(np.eye(3), t, **{**noisy, 'seed': 8})
    np.testing.assert_array_equal(rgb1, rgb2)
    values = rgb1[mask].astype(np.float64)
    assert values.mean() == pytest.approx(128.0, abs=0.5)
    assert values.std() == pytest.approx(0.02 * 255, rel=0.08)
    # independent draws for another seed: the difference has sqrt(2) x std
    diff = rgb1[mask].astype(np.float64) - rgb3[mask]
    assert diff.std() == pytest.approx(np.sqrt(2) * 0.02 * 255, rel=0.08)


def test_missing_egl_fails_with_one_clear_line(monkeypatch):
    import moderngl

    def broken(**kwargs):
        raise Exception('libEGL.so.1: cannot open shared object file')

    monkeypatch.setattr(moderngl, 'create_standalone_context', broken)
    with pytest.raises(RuntimeError) as info:
        render_module.create_context()
    message = str(info.value)
    assert '\n' not in message
    for lib in ('libegl1', 'libgl1', 'libgl1-mesa-dri', 'libEGL.so.1'):
        assert lib in message


def test_full_silhouette_matches_real_bop_annotations(renderer,
                                                      lmo_sample_root):
    """Our silhouettes of the real ape and duck at their real poses give
    BOP's own ``bbox_obj`` (within 1 px) and ``px_count_all`` (within
    1.5 %): same camera convention, same box convention."""
    import json

    import trimesh

    scene = lmo_sample_root / 'test' / '000002'
    gt = json.loads((scene / 'scene_gt.json').read_text())
    info = json.loads((scene / 'scene_gt_info.json').read_text())
    checked, width_minus_extent = 0, []
    for obj_id in (1, 9):
        ply = trimesh.load(lmo_sample_root / 'models'
                           / f'obj_{obj_id:06d}.ply', process=False)
        verts = np.asarray(ply.vertices)
        renderer.set_mesh(Mesh(verts, np.asarray(ply.vertex_normals),
                               np.asarray(ply.faces),
                               np.asarray(ply.visual.vertex_colors)[:, :3]))
        for im, entries in gt.items():
            for k, e in enumerate(entries):
                if e['obj_id'] != obj_id:
                    continue
                R = np.array(e['cam_R_m2c']).reshape(3, 3)
                t = np.array(e['cam_t_m2c'])
                full = renderer.silhouette(R, t, W, H)
                ys, xs = np.nonzero(full)
                ours = [xs.min() - W, ys.min() - H, xs.max() - xs.min(),
                        ys.max() - ys.min()]
                ref = info[im][k]
                assert np.abs(np.subtract(ours, ref['bbox_obj'])).max() <= 1
                assert full.sum() == pytest.approx(ref['px_count_all'],
                                                   rel=0.015)
                uv = project_points(verts, R, t, LINEMOD_K)
                width_minus_extent.append(ref['bbox_obj'][2]
                                          - np.ptp(uv[:, 0]))
                checked += 1
    assert checked >= 30
    # BOP's boxes are [x, y, x_max - x_min, ...] (no +1): about one pixel
    # narrower than the continuous extent of the projection
    assert np.mean(width_minus_extent) < -0.5
