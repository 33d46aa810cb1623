"""Nearest-neighbour retrieval error of an embedding space: hand cases."""
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from posessl.evaluation import (
    camera_viewpoint,
    nearest_neighbour_indices,
    nearest_neighbour_rotation_error,
    random_pick_rotation_error,
)
from tests.cameras import LINEMOD_K


def rz(degrees):
    """(N, 3, 3) rotations about z by each of ``degrees``."""
    angles = np.asarray(degrees, dtype=float).reshape(-1, 1)
    return Rotation.from_euler('z', angles, degrees=True).as_matrix()


def test_hand_case():
    db_emb = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    db_R = rz([0.0, 90.0, 180.0])
    query_emb = np.array([[0.9, 0.1], [0.1, 0.8], [-1.0, -0.2]])
    query_R = rz([10.0, 80.0, 150.0])
    err, idx = nearest_neighbour_rotation_error(query_emb, db_emb, query_R,
                                                db_R)
    assert idx.tolist() == [0, 1, 2]
    np.testing.assert_allclose(err.numpy(), [10.0, 10.0, 30.0], atol=1e-6)
    # a query whose neighbour is the wrong viewpoint gets that error
    err, idx = nearest_neighbour_rotation_error([[0.0, 1.0]], db_emb,
                                                rz([0.0]), db_R)
    assert idx.tolist() == [1]
    np.testing.assert_allclose(err.numpy(), [90.0], atol=1e-6)


def test_cosine_and_euclidean_differ():
    db = torch.tensor([[1.0, 0.0], [5.0, 5.0]])
    q = torch.tensor([[10.0, 0.0]])
    # cosine: same direction as (1, 0); euclidean: (5, 5) is 7.07 away
    assert nearest_neighbour_indices(q, db, 'cosine').tolist() == [0]
    assert nearest_neighbour_indices(q, db, 'euclidean').tolist() == [1]
    with pytest.raises(ValueError, match='metric'):
        nearest_neighbour_indices(q, db, 'manhattan')


def test_chunks_and_brute_force_agree():
    rng = np.random.default_rng(0)
    q, db = rng.normal(size=(50, 8)), rng.normal(size=(30, 8))
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    dbn = db / np.linalg.norm(db, axis=1, keepdims=True)
    ref = [int(np.argmax([qn[i] @ dbn[j] for j in range(30)]))
           for i in range(50)]
    assert nearest_neighbour_indices(q, db, chunk_size=7).tolist() == ref


def test_random_pick_is_chance_and_deterministic():
    query_R = rz([5.0, 25.0, 45.0])
    db_R = rz([0.0] * 10)
    err = random_pick_rotation_error(query_R, db_R, seed=3)
    np.testing.assert_allclose(err.numpy(), [5.0, 25.0, 45.0], atol=1e-6)
    db_R = Rotation.random(100, random_state=0).as_matrix()
    a = random_pick_rotation_error(query_R, db_R, seed=3)
    b = random_pick_rotation_error(query_R, db_R, seed=3)
    torch.testing.assert_close(a, b)


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError, match='one rotation per embedding'):
        nearest_neighbour_rotation_error(np.ones((2, 3)), np.ones((4, 3)),
                                         rz([0.0]), rz([0.0] * 4))


def test_camera_viewpoint():
    eye = np.eye(3)[None].repeat(3, 0)
    # camera centre c = -R^T t: +x, (0, 100, 100), and straight above
    t = np.array([[-100.0, 0, 0], [0, -100.0, -100.0], [0, 0, -50.0]])
    az, el, dist = camera_viewpoint(eye, t)
    np.testing.assert_allclose(az[:2], [0.0, 90.0], atol=1e-9)
    np.testing.assert_allclose(el, [0.0, 45.0, 90.0], atol=1e-9)
    np.testing.assert_allclose(dist, [100.0, 100 * np.sqrt(2), 50.0])
    # a rotated object: the same camera centre whatever R is
    R = Rotation.random(4, random_state=1).as_matrix()
    c = np.array([30.0, -40.0, 0.0])
    t = -np.einsum('bij,j->bi', R, c)
    az, el, dist = camera_viewpoint(R, t)
    np.testing.assert_allclose(az, np.degrees(np.arctan2(-40, 30)))
    np.testing.assert_allclose(el, 0.0, atol=1e-9)
    np.testing.assert_allclose(dist, 50.0)


def test_groups_restrict_matches_to_the_same_object():
    db_emb = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    db_R = rz([0.0, 40.0, 90.0])
    db_obj = [1, 2, 2]
    query_emb = np.array([[1.0, 0.0], [1.0, 0.0]])
    query_R = rz([0.0, 30.0])
    # without groups both queries match db 0; with groups the object-2
    # query must take db 1 (its nearest object-2 frame), 10 degrees off
    err, idx = nearest_neighbour_rotation_error(query_emb, db_emb, query_R,
                                                db_R)
    assert idx.tolist() == [0, 0]
    err, idx = nearest_neighbour_rotation_error(
        query_emb, db_emb, query_R, db_R, query_groups=[1, 2],
        db_groups=db_obj)
    assert idx.tolist() == [0, 1]
    np.testing.assert_allclose(err.numpy(), [0.0, 10.0], atol=1e-5)
    # the random pick stays inside the group: object 1 has only db 0
    rnd = random_pick_rotation_error(query_R[:1], db_R, seed=0,
                                     query_groups=[1], db_groups=db_obj)
    np.testing.assert_allclose(rnd.numpy(), [0.0], atol=1e-5)
    with pytest.raises(ValueError, match=r'groups \[3\] have no database'):
        nearest_neighbour_indices(query_emb, db_emb, query_groups=[1, 3],
                                  db_groups=db_obj)


def _crop_K(cx: float, cy: float, zoom: float) -> torch.Tensor:
    """Crop camera of a LINEMOD frame, 64 px input centred on (cx, cy)."""
    from posessl.geometry import crop_camera_matrix
    K = LINEMOD_K
    x0 = cx - (64 - 1) / (2 * zoom)
    y0 = cy - (64 - 1) / (2 * zoom)
    return torch.as_tensor(crop_camera_matrix(K, x0, y0, zoom))


def test_transfer_pose_to_its_own_crop_is_identity():
    from scipy.spatial.transform import Rotation

    from posessl.evaluation import transfer_pose
    R = torch.as_tensor(Rotation.from_rotvec([0.3, -1.1, 0.4]).as_matrix())
    t = torch.tensor([40.0, -25.0, 800.0], dtype=torch.float64)
    K = _crop_K(370.0, 210.0, 0.4)
    R2, t2 = transfer_pose(R, t, K, K, (64, 64))
    torch.testing.assert_close(R2, R, atol=1e-12, rtol=0)
    torch.testing.assert_close(t2, t, atol=1e-9, rtol=0)


def test_transfer_pose_keeps_site_terms_and_allocentric_rotation():
    from scipy.spatial.transform import Rotation

    from posessl.evaluation import transfer_pose
    from posessl.geometry import crop_center_ray, ray_rotation, site_encode
    R = torch.as_tensor(Rotation.from_rotvec([1.0, 0.2, -0.5]).as_matrix())
    t = torch.tensor([-60.0, 30.0, 650.0], dtype=torch.float64)
    src_K, dst_K = _crop_K(250.0, 280.0, 0.5), _crop_K(420.0, 120.0, 0.25)
    R2, t2 = transfer_pose(R, t, src_K, dst_K, (64, 64))
    # the query crop sees the object where and as large as the source crop
    torch.testing.assert_close(site_encode(t2, dst_K, (64, 64)),
                               site_encode(t, src_K, (64, 64)), atol=1e-9,
                               rtol=0)
    # the rotation relative to each crop's central ray is the same
    q_src = ray_rotation(crop_center_ray(src_K, (64, 64)))
    q_dst = ray_rotation(crop_center_ray(dst_K, (64, 64)))
    torch.testing.assert_close(q_dst.T @ R2, q_src.T @ R, atol=1e-12,
                               rtol=0)
    # half the zoom: the object looks twice as large in the source image,
    # so it is half as far away
    assert float(t2[2]) == pytest.approx(0.5 * float(t[2]), rel=1e-9)
    assert abs(torch.det(R2) - 1) < 1e-12
