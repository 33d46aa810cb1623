"""Tiny hand-made LINEMOD-style datasets for the data tests.

Each object is a box (subdivided, so it has a few hundred vertices) seen
along a slow camera path; its silhouette is the convex hull of its projected
vertices, so masks and boxes are exact. The same frames are written in the
BOP and the DenseFusion layouts so that the two loaders can be compared.
"""
import json
import os
from pathlib import Path
from typing import Dict, List, Sequence

import cv2
import numpy as np
import trimesh
import yaml
from scipy.spatial.transform import Rotation

from posessl.geometry import project_points

WIDTH, HEIGHT = 160, 120
K = np.array([[200.0, 0.0, 79.5], [0.0, 201.0, 60.25], [0.0, 0.0, 1.0]])
EXTENTS = {1: (60.0, 40.0, 30.0), 2: (50.0, 50.0, 20.0), 3: (30.0, 30.0,
                                                         70.0)}
COLOURS = {1: (200, 40, 40), 2: (40, 200, 40), 3: (40, 40, 200)}
REPO_ROOT = Path(__file__).resolve().parents[2]
LMO_SAMPLE = REPO_ROOT / '..' / 'shared' / 'data' / 'lmo_sample'


def box_mesh(obj_id: int) -> trimesh.Trimesh:
    """The object's mesh (mm), subdivided twice."""
    mesh = trimesh.creation.box(extents=EXTENTS[obj_id])
    return mesh.subdivide().subdivide()


def frame_pose(obj_id: int, i: int) -> tuple:
    """Pose of object ``obj_id`` in frame ``i`` (a slow orbit)."""
    R = Rotation.from_euler(
        'xyz', [20.0 + 3.0 * i, 7.0 * i + 40 * obj_id, 5.0],
        degrees=True).as_matrix()
    t = np.array([10.0 * np.sin(0.2 * i) - 5 * obj_id,
                  8.0 * np.cos(0.3 * i), 600.0 + 5.0 * i])
    return R, t


def render(obj_id: int, R: np.ndarray, t: np.ndarray,
           rng: np.random.Generator) -> tuple:
    """Image (RGB uint8), mask (bool) and BOP box of one frame."""
    uv = project_points(box_mesh(obj_id).vertices, R, t, K)
    hull = cv2.convexHull(np.round(uv * 16).astype(np.int32))
    mask_u8 = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.fillConvexPoly(mask_u8, hull, 255, lineType=cv2.LINE_8, shift=4)
    mask = mask_u8 > 0
    img = rng.integers(0, 60, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    img[mask] = COLOURS[obj_id]
    ys, xs = np.nonzero(mask)
    bbox = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min()),
            int(ys.max() - ys.min())]
    return img, mask, bbox


def write_rgb(path: str, img: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cv2.imwrite(path, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))


def write_mask(path: str, mask: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cv2.imwrite(path, mask.astype(np.uint8) * 255)


def make_frames(obj_ids: Sequence[int], num_frames: int,
                seed: int = 0) -> Dict[int, List[dict]]:
    """``{obj_id: [frame dict, ...]}`` with im_id, R, t, img, mask, bbox."""
    rng = np.random.default_rng(seed)
    frames: Dict[int, List[dict]] = {}
    for obj_id in obj_ids:
        frames[obj_id] = []
        for i in range(num_frames):
            R, t = frame_pose(obj_id, i)
            img, mask, bbox = render(obj_id, R, t, rng)
            frames[obj_id].append(
                dict(im_id=i, R=R, t=t, img=img, mask=mask, bbox=bbox))
    return frames


def write_bop(root: Path, frames: Dict[int, List[dict]],
              split: str = 'train', mask_dir: str = 'mask_visib',
              symmetric: Sequence[int] = ()) -> Path:
    """Write ``frames`` in the BOP layout (one scene per object)."""
    models = root / 'models'
    models.mkdir(parents=True, exist_ok=True)
    info = {}
    for obj_id in frames:
        mesh = box_mesh(obj_id)
        mesh.export(str(models / f'obj_{obj_id:06d}.ply'))
        info[str(obj_id)] = dict(
            diameter=float(np.linalg.norm(EXTENTS[obj_id])))
    (models / 'models_info.json').write_text(json.dumps(info))
    (root / 'camera.json').write_text(
        json.dumps(dict(fx=K[0, 0], fy=K[1, 1], cx=K[0, 2], cy=K[1, 2],
                        width=WIDTH, height=HEIGHT, depth_scale=1.0)))
    (root / 'dataset_info.json').write_text(
        json.dumps(dict(name='handmade',
                        objects={str(i): f'box{i}' for i in frames},
                        symmetric_obj_ids=list(symmetric))))
    for obj_id, seq in frames.items():
        scene = root / split / f'{obj_id:06d}'
        gt, cam, gt_info = {}, {}, {}
        for f in seq:
            im = f['im_id']
            write_rgb(str(scene / 'rgb' / f'{im:06d}.png'), f['img'])
            if mask_dir:
                write_mask(str(scene / mask_dir / f'{im:06d}_000000.png'),
                           f['mask'])
            gt[str(im)] = [dict(obj_id=obj_id,
                                cam_R_m2c=f['R'].reshape(-1).tolist(),
                                cam_t_m2c=f['t'].tolist())]
            cam[str(im)] = dict(cam_K=K.reshape(-1).tolist(),
                                depth_scale=1.0)
            gt_info[str(im)] = [dict(bbox_obj=f['bbox'],
                                     bbox_visib=f['bbox'],
                                     visib_fract=1.0)]
        (scene / 'scene_gt.json').write_text(json.dumps(gt))
        (scene / 'scene_camera.json').write_text(json.dumps(cam))
        (scene / 'scene_gt_info.json').write_text(json.dumps(gt_info))
    return root


def write_densefusion(root: Path, frames: Dict[int, List[dict]],
                      train_ids: Dict[int, Sequence[int]]) -> Path:
    """Write ``frames`` in DenseFusion's layout (``data/NN``)."""
    models = root / 'models'
    models.mkdir(parents=True, exist_ok=True)
    info = {}
    for obj_id in frames:
        box_mesh(obj_id).export(str(models / f'obj_{obj_id:02d}.ply'))
        info[obj_id] = dict(diameter=float(np.linalg.norm(EXTENTS[obj_id])))
    (models / 'models_info.yml').write_text(yaml.safe_dump(info))
    for obj_id, seq in frames.items():
        d = root / 'data' / f'{obj_id:02d}'
        gt, cam = {}, {}
        for f in seq:
            im = f['im_id']
            write_rgb(str(d / 'rgb' / f'{im:04d}.png'), f['img'])
            write_mask(str(d / 'mask' / f'{im:04d}.png'), f['mask'])
            gt[im] = [dict(cam_R_m2c=f['R'].reshape(-1).tolist(),
                           cam_t_m2c=f['t'].tolist(), obj_bb=f['bbox'],
                           obj_id=obj_id)]
            cam[im] = dict(cam_K=K.reshape(-1).tolist(), depth_scale=1.0)
        (d / 'gt.yml').write_text(yaml.safe_dump(gt))
        (d / 'info.yml').write_text(yaml.safe_dump(cam))
        train = set(train_ids[obj_id])
        (d / 'train.txt').write_text(''.join(
            f'{f["im_id"]:04d}\n' for f in seq if f['im_id'] in train))
        (d / 'test.txt').write_text(''.join(
            f'{f["im_id"]:04d}\n' for f in seq if f['im_id'] not in train))
    return root
