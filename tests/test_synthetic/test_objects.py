"""Procedural objects, mesh builders, camera paths and the PNG encoder
(no rendering)."""
import itertools

import cv2
import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree
from synthetic_helpers import axis_angle_matrix, brute_force_diameter

from posessl.geometry import geodesic_distance, project_points, random_rotation
from posessl.structures.bop_models import points_diameter
from posessl.synthetic import (
    LINEMOD_K,
    encode_png,
    make_object,
    make_objects,
    meshes,
)
from posessl.synthetic.trajectory import (
    camera_path,
    held_out_frames,
    lighting,
    randomised_lighting,
    recording_frames,
    recording_lighting,
    recording_path,
)


@pytest.fixture(scope='module')
def six_objects():
    return make_objects(6, seed=0)


def test_kinds_sizes_and_symmetry_declarations(six_objects):
    kinds = [o.kind for o in six_objects]
    assert kinds == ['gadget', 'crate', 'gadget', 'tube', 'gadget', 'gadget']
    assert [o.symmetric for o in six_objects] == [
        False, True, False, True, False, False]
    for o in six_objects:
        assert 100.0 <= o.diameter <= 290.0, o.name
        assert o.mesh.vertices.dtype == np.float64
        # float32-exact, as written to the PLY file
        np.testing.assert_array_equal(
            o.mesh.vertices, o.mesh.vertices.astype(np.float32))
    crate, tube = six_objects[1], six_objects[3]
    assert crate.symmetries_discrete and not crate.symmetries_continuous
    assert tube.symmetries_continuous == [
        {'axis': [0.0, 0.0, 1.0], 'offset': [0.0, 0.0, 0.0]}]


def test_diameter_is_the_largest_vertex_distance(six_objects):
    # (the written models are checked against their files elsewhere)
    for o in (six_objects[3], six_objects[4]):
        assert o.diameter == pytest.approx(
            brute_force_diameter(o.mesh.vertices), abs=1e-9)


def test_points_diameter_of_hand_cases():
    """The generator's diameters come from structures' points_diameter:
    a segment, a flat set (no hull) and no points."""
    assert points_diameter(np.array([[0.0, 0, 0], [3, 4, 0]])) == 5.0
    square = np.array([[0.0, 0, 0], [1, 0, 0], [0, 2, 0], [5, 5, 0],
                       [1, 1, 0]])
    assert points_diameter(square) == pytest.approx(np.sqrt(50))
    assert points_diameter(np.zeros((0, 3))) == 0.0


def test_tube_is_continuously_symmetric_about_its_declared_axis(six_objects):
    tube = six_objects[3]
    sym = tube.symmetries_continuous[0]
    axis, offset = np.array(sym['axis']), np.array(sym['offset'])
    v = tube.mesh.vertices
    tree = cKDTree(v)
    # ring size from the vertices on the widest ring
    r = np.linalg.norm(v[:, :2] - offset[:2], axis=1)
    widest = np.isclose(r, r.max(), atol=1e-3)
    z_ring = v[widest, 2][0]
    ring = v[widest & np.isclose(v[:, 2], z_ring, atol=1e-6)]
    sections = len(np.unique(np.round(ring, 3), axis=0))
    assert sections >= 32
    # exact for multiples of the ring step
    for k in (1, 5, sections // 2):
        Rk = axis_angle_matrix(axis, 2 * np.pi * k / sections)
        d, _ = tree.query((v - offset) @ Rk.T + offset)
        assert d.max() < 1e-3
    # any angle: within half a ring step of a vertex (on the surface)
    half_step = r.max() * np.pi / sections
    for angle in (0.1234, 1.0, 2.5):
        Ra = axis_angle_matrix(axis, angle)
        d, _ = tree.query((v - offset) @ Ra.T + offset)
        assert d.max() <= half_step + 1e-3
    # a wrongly placed axis (5 mm off) does not map the model onto itself
    off = np.array([5.0, 0.0, 0.0])
    d, _ = tree.query((v - off) @ axis_angle_matrix(axis, 1.0).T + off)
    assert d.max() > 3.0


def test_gadgets_have_no_rotational_symmetry(six_objects):
    # no proper rotation of the cube group (besides the identity) and no
    # half turn about the principal axes maps an asymmetric model onto
    # itself: some rotated vertex stays far from every model vertex
    candidates = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            M = np.zeros((3, 3))
            M[range(3), perm] = signs
            if np.linalg.det(M) > 0 and not np.allclose(M, np.eye(3)):
                candidates.append(M)
    for o in [six_objects[i] for i in (0, 2, 4, 5)]:
        v = o.mesh.vertices
        centred = v - v.mean(0)
        _, _, axes = np.linalg.svd(centred, full_matrices=False)
        rots = candidates + [
            axes.T @ np.diag(d) @ axes
            for d in ([1, -1, -1], [-1, 1, -1], [-1, -1, 1])]
        tree = cKDTree(centred)
        # farthest a rotated vertex lies from the model (directed Hausdorff)
        best = min(tree.query(centred @ R.T)[0].max() for R in rots)
        assert best > 0.1 * o.diameter, o.name


def test_objects_are_deterministic_and_independent_of_the_count():
    a = make_object(3, seed=11)
    b = make_objects(4, seed=11)[2]
    np.testing.assert_array_equal(a.mesh.vertices, b.mesh.vertices)
    np.testing.assert_array_equal(a.mesh.colors, b.mesh.colors)
    c = make_object(3, seed=12)
    assert (len(c.mesh.vertices) != len(a.mesh.vertices)
            or not np.array_equal(c.mesh.vertices, a.mesh.vertices))


def signed_volume(mesh) -> float:
    """Enclosed volume (positive when the faces point outwards)."""
    a, b, c = (mesh.vertices[mesh.faces[:, i]] for i in range(3))
    return float(np.einsum('ij,ij->i', a, np.cross(b, c)).sum() / 6.0)


@pytest.mark.parametrize('build', [
    lambda: meshes.box((1.0, 2.0, 0.5), 0.2),
    lambda: meshes.sphere(1.0, 0.1),
    lambda: meshes.cylinder(0.5, 2.0, 0.1),
    lambda: meshes.cylinder(0.5, 2.0, 0.1, top_radius=0.0),
    lambda: meshes.capsule(0.4, 1.0, 0.1),
    lambda: meshes.box((1.0, 1.0, 1.0), 0.2).transformed(
        np.diag([1.0, -1.0, 1.0])),  # a reflection keeps faces outwards
])
def test_primitives_face_outwards_with_matching_normals(build):
    mesh = build()
    assert signed_volume(mesh) > 0
    a, b, c = (mesh.vertices[mesh.faces[:, i]] for i in range(3))
    face_n = np.cross(b - a, c - a)
    face_n /= np.linalg.norm(face_n, axis=1, keepdims=True)
    vert_n = mesh.normals[mesh.faces].mean(1)
    assert np.mean(np.einsum('ij,ij->i', face_n, vert_n) > 0.5) > 0.99


def test_primitive_volumes_match_their_formulas():
    assert signed_volume(meshes.box((1.0, 2.0, 0.5), 0.2)) == \
        pytest.approx(1.0)
    # polygonal approximations converge from below
    sphere = signed_volume(meshes.sphere(1.0, 0.05))
    assert 0.99 * 4 / 3 * np.pi < sphere < 4 / 3 * np.pi
    cyl = signed_volume(meshes.cylinder(0.5, 2.0, 0.05))
    assert 0.99 * np.pi * 0.5**2 * 2 < cyl < np.pi * 0.5**2 * 2


def test_camera_path_is_smooth_and_covers_the_upper_hemisphere():
    path = camera_path(np.random.default_rng(3), 1200)
    assert np.all((path.elevation >= 8.0) & (path.elevation <= 82.0))
    assert np.all((path.distance >= 400) & (path.distance <= 1500))
    np.testing.assert_allclose(np.linalg.norm(path.t, axis=1),
                               path.distance, rtol=1e-9)
    # rotations are proper
    np.testing.assert_allclose(np.linalg.det(path.R), 1.0, atol=1e-9)
    # the object centre is in front of the camera and inside the image
    uv = project_points(np.zeros((1, 3)), path.R, path.t, LINEMOD_K)[:, 0]
    assert np.all((uv[:, 0] > 0) & (uv[:, 0] < 639))
    assert np.all((uv[:, 1] > 0) & (uv[:, 1] < 479))
    # LINEMOD-like coverage: every azimuth sector and a wide elevation band
    sectors = np.histogram(path.azimuth, bins=12, range=(0, 360))[0]
    assert np.all(sectors > 0)
    assert np.ptp(path.elevation) > 40
    assert np.ptp(path.roll) > 20  # in-plane rotation varies


def _angle_deg(Ra: np.ndarray, Rb: np.ndarray) -> np.ndarray:
    return np.degrees(geodesic_distance(torch.as_tensor(Ra),
                                        torch.as_tensor(Rb)).numpy())


def test_recording_frames_subsample_evenly():
    from posessl.synthetic.trajectory import RECORDING_FRAMES
    assert RECORDING_FRAMES == 1200
    keep = recording_frames(300)  # the default training sequence
    assert keep[0] == 0 and keep[-1] == 1199 and len(keep) == 300
    assert set(np.diff(keep)) <= {4, 5}  # 1199 / 299 = 4.01
    # a short training sequence stays a video: a piece of the recording
    np.testing.assert_array_equal(recording_frames(30, max_step=4.5),
                                  np.round(np.arange(30) * 4.5))
    # a test sequence spans the recording whatever its length
    np.testing.assert_array_equal(recording_frames(10, max_step=None),
                                  np.round(np.arange(10) * 1199 / 9))
    np.testing.assert_array_equal(recording_frames(1500), np.arange(1500))
    with pytest.raises(ValueError, match='num_frames'):
        recording_frames(0)


def test_held_out_frames_lie_between_the_training_frames():
    train = recording_frames(300)  # 0, 4, 8, ..., 1199
    test = held_out_frames(train, 100)
    assert len(test) == 100 and len(np.unique(test)) == 100
    assert not np.intersect1d(train, test).size
    # evenly spread over the 900 free frames: every ninth from the middle
    # of the first nine (free frames 1, 2, 3, 5, 6, 7, 9, ...); 9 free
    # frames span 12 recording frames (11 where a training step is 5)
    assert test[0] == 6 and test[1] == 18
    assert set(np.diff(test)) <= {11, 12}
    # a short training piece (frames 0..130): the test frames lie inside it
    piece = recording_frames(30, max_step=4.5)
    test = held_out_frames(piece, 10)
    assert piece.min() < test.min() and test.max() < piece.max()
    # too few frames between them: the rest of the recording is used
    np.testing.assert_array_equal(held_out_frames(np.array([0]), 2, 5),
                                  [2, 4])
    with pytest.raises(ValueError, match='does not fit'):
        held_out_frames(recording_frames(1150), 51)


def test_the_splits_of_one_recording_share_its_path_and_light():
    """``take`` keeps exactly the chosen frames of the full recording."""
    path = recording_path(np.random.default_rng(0), 40)
    light = recording_lighting(np.random.default_rng(1), 40)
    frames = np.array([3, 17, 39])
    part, lit = path.take(frames), light.take(frames)
    np.testing.assert_array_equal(part.R, path.R[frames])
    np.testing.assert_array_equal(part.distance, path.distance[frames])
    np.testing.assert_array_equal(lit.gain, light.gain[frames])
    assert lit.noise_std == light.noise_std and len(part) == 3
    # a subsampled sequence is the same recording taken at its frames
    keep = np.round(np.arange(5) * 4.5).astype(int)
    np.testing.assert_array_equal(
        camera_path(np.random.default_rng(2), 5).R,
        recording_path(np.random.default_rng(2), keep[-1] + 1).R[keep])


@pytest.mark.parametrize('seed', [0, 1])
def test_short_sequences_cover_the_whole_recording(seed):
    """A 300-frame training and an independent 100-frame test sequence
    both span the elevation and distance ranges and every azimuth sector
    (the first default saw disjoint quarters), and frame order still
    means viewpoint order."""
    train = camera_path(np.random.default_rng(seed), 300)
    test = camera_path(np.random.default_rng(seed + 10), 100, max_step=None)
    for path in (train, test):
        assert path.elevation.min() < 15 and path.elevation.max() > 75
        assert path.distance.min() < 450 and path.distance.max() > 1400
        sectors = np.histogram(path.azimuth, bins=12, range=(0, 360))[0]
        assert np.all(sectors > 0)
    near = _angle_deg(train.R[1:], train.R[:-1])
    far = _angle_deg(train.R[20:], train.R[:-20])
    assert np.median(near) < 8 and np.median(far) > 40


def test_objects_are_sometimes_cut_by_the_image_border():
    obj = make_object(1, seed=0)
    cut = []
    for seed in range(2):
        path = camera_path(np.random.default_rng(seed), 1200)
        uv = project_points(obj.mesh.vertices[::7], path.R, path.t,
                            LINEMOD_K)
        cut.append((uv.min(1) < 0).any(1) | (uv[..., 0].max(1) > 639)
                   | (uv[..., 1].max(1) > 479))
    fraction = np.mean(cut)
    assert 0.01 < fraction < 0.4


def test_lighting_stays_in_range():
    light = lighting(np.random.default_rng(0), 500)
    np.testing.assert_allclose(np.linalg.norm(light.light_dir, axis=1), 1.0)
    assert np.all(light.light_dir[:, 2] > 0)  # lit from above
    assert np.all((light.ambient > 0.25) & (light.ambient < 0.5))
    # the room light stays put (LINEMOD's object stands still in a lit
    # room): the direction wobbles by a few degrees, strengths by a little
    wobble = np.degrees(np.arccos(np.clip(
        light.light_dir @ light.light_dir.mean(0)
        / np.linalg.norm(light.light_dir.mean(0)), -1, 1)))
    assert 0.5 < wobble.max() < 20
    assert np.ptp(light.ambient) < 0.05 and np.ptp(light.diffuse) < 0.1
    # while the camera's auto-exposure drifts slowly
    exposure = light.gain.mean(1)
    assert np.ptp(exposure) > 0.05
    assert np.abs(np.diff(exposure)).max() < 0.2 * np.ptp(exposure)


def test_randomised_lighting_comes_from_the_camera_side():
    rng = np.random.default_rng(0)
    R = np.stack([random_rotation(rng) for _ in range(400)])
    light = randomised_lighting(np.random.default_rng(1), R)
    np.testing.assert_allclose(np.linalg.norm(light.light_dir, axis=1), 1.0)
    # back in camera coordinates the light lies within 80 deg of the
    # direction towards the camera (-z), spread over that whole cap
    to_light = np.einsum('nij,nj->ni', R, light.light_dir)
    angle = np.degrees(np.arccos(np.clip(-to_light[:, 2], -1, 1)))
    assert angle.max() <= 80.0 + 1e-6 and angle.max() > 70.0
    # a uniform cap: cos(angle) uniform on [cos 80 deg, 1]
    assert abs(np.mean(-to_light[:, 2]) - (1 + np.cos(np.radians(80))) / 2
               ) < 0.03
    # every frame its own light: nothing is shared between frames
    for values, lo, hi in ((light.ambient, 0.15, 0.7),
                           (light.diffuse, 0.3, 1.0),
                           (light.specular, 0.0, 0.6),
                           (light.shininess, 4.0, 64.0),
                           (light.noise_std * 255, 1.0, 8.0)):
        assert values.shape == (400, )
        assert lo <= values.min() and values.max() <= hi
        assert np.ptp(values) > 0.8 * (hi - lo)
    exposure = light.gain.mean(1)
    assert 0.6 <= exposure.min() and exposure.max() <= 1.5
    frame = light.take(np.array([3, 7])).frame(1)
    assert frame['ambient'] == light.ambient[7]
    assert frame['specular'] == light.specular[7]
    np.testing.assert_array_equal(frame['gain'], light.gain[7])


@pytest.mark.parametrize('image', [
    np.arange(48 * 64, dtype=np.uint32).reshape(48, 64).astype(np.uint8),
    np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8),
    np.random.default_rng(1).integers(0, 65536, (20, 30), dtype=np.uint16),
])
def test_png_encoder_round_trips_through_opencv(image):
    decoded = cv2.imdecode(np.frombuffer(encode_png(image), np.uint8),
                           cv2.IMREAD_UNCHANGED)
    if image.ndim == 3:
        decoded = decoded[..., ::-1]  # OpenCV reads BGR
    assert decoded.dtype == image.dtype
    np.testing.assert_array_equal(decoded, image)


def test_png_encoder_rejects_other_pixel_types():
    with pytest.raises(TypeError, match='uint8 or uint16'):
        encode_png(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match='shape'):
        encode_png(np.zeros((4, 4, 2), np.uint8))
