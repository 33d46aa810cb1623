"""Overfitting check: the pose maths and gradients connect end to end.

Sixteen frames of a box with six coloured faces on a noise background are
drawn by hand (exact poses), cropped by the real data pipeline
(``LoadImageAndMask`` -> ``MaskCenteredCrop`` -> ``PackPoseInputs``) and fed
through ``PoseDataPreprocessor`` to a ResNet18 ``PoseRegressor``, which must
memorise them: rotation error under 5 degrees and translation error under
5 % of the diameter on every frame, read from ``predict`` in eval mode.
"""
import itertools
import time

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from scipy.spatial.transform import Rotation
from torch.nn.modules.batchnorm import _BatchNorm

from posessl.geometry import geodesic_distance, project_points
from posessl.registry import MODELS, TRANSFORMS

K = np.array([[200.0, 0.0, 79.5], [0.0, 200.0, 59.5], [0.0, 0.0, 1.0]])
WIDTH, HEIGHT, OUT = 160, 120, 32
EXTENT = np.array([60.0, 40.0, 30.0])
DIAMETER = float(np.linalg.norm(EXTENT))
FACE_COLOURS = [(230, 40, 40), (40, 230, 40), (40, 40, 230),
                (230, 230, 40), (230, 40, 230), (40, 230, 230)]


def box_faces() -> list:
    """Corner indices of the six faces of the box, and its 8 corners."""
    corners = np.array(list(itertools.product((-1, 1), repeat=3))) * (
        EXTENT / 2)
    faces = []
    for axis in range(3):
        for sign in (-1, 1):
            idx = [i for i, c in enumerate(corners)
                   if np.sign(c[axis]) == sign]
            pts = corners[idx]
            # Order the 4 corners around the face centre.
            others = [a for a in range(3) if a != axis]
            angle = np.arctan2(pts[:, others[1]], pts[:, others[0]])
            faces.append([idx[i] for i in np.argsort(angle)])
    return corners, faces


def draw(R: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> tuple:
    """Image and mask: faces painted far to near over noise."""
    corners, faces = box_faces()
    cam = corners @ R.T + t
    uv = project_points(corners, R, t, K)
    img = rng.integers(0, 80, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    order = np.argsort([-cam[f, 2].mean() for f in faces])
    for k in order:
        poly = np.round(uv[faces[k]] * 16).astype(np.int32)
        cv2.fillConvexPoly(img, poly, FACE_COLOURS[k], cv2.LINE_AA, 4)
        cv2.fillConvexPoly(mask, poly, 255, cv2.LINE_8, 4)
    return img, mask


def make_frames(root) -> list:
    """Write 16 frames; return their data infos."""
    infos = []
    for i in range(16):
        rng = np.random.default_rng(100 + i)
        R = Rotation.random(random_state=100 + i).as_matrix()
        t = np.array([rng.uniform(-60, 60), rng.uniform(-40, 40),
                      rng.uniform(450, 750)])
        img, mask = draw(R, t, rng)
        img_path, mask_path = root / f'{i:06d}.png', root / f'{i:06d}_m.png'
        cv2.imwrite(str(img_path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(mask_path), mask)
        infos.append(dict(
            img_path=str(img_path), mask_path=str(mask_path),
            bbox=[0.0, 0.0, 1.0, 1.0], cam_K=K.copy(), gt_R=R, gt_t=t,
            has_pose=True, obj_id=1, scene_id=1, im_id=i,
            ori_shape=(HEIGHT, WIDTH)))
    return infos


def precise_bn(model: torch.nn.Module, inputs: torch.Tensor) -> None:
    """Set every BatchNorm's running statistics to the exact (biased)
    statistics of ``inputs``, so eval mode computes what training saw."""
    hooks = []

    def hook(module, args, output):
        x = args[0]
        module.running_mean.copy_(x.mean(dim=(0, 2, 3)))
        module.running_var.copy_(x.var(dim=(0, 2, 3), unbiased=False))

    for m in model.modules():
        if isinstance(m, _BatchNorm):
            hooks.append(m.register_forward_hook(hook))
    model.train()
    with torch.no_grad():
        model.extract_feat(inputs)
    for h in hooks:
        h.remove()


@pytest.mark.slow
def test_pose_model_overfits_16_crops(tmp_path):
    torch.manual_seed(0)
    codec = dict(type='SITECodec')  # the pipeline's targets, the head's
    pipeline = [
        TRANSFORMS.build(dict(type='LoadImageAndMask', skip_bad=False)),
        TRANSFORMS.build(dict(type='MaskCenteredCrop', out_size=OUT,
                              mode='zoom', scale=1.5)),
        TRANSFORMS.build(dict(type='GeneratePoseTarget', codec=codec)),
        TRANSFORMS.build(dict(type='PackPoseInputs')),
    ]
    items = []
    for info in make_frames(tmp_path):
        for transform in pipeline:
            info = transform(info)
        items.append(info)
    batch = pseudo_collate(items)
    assert batch['inputs'][0].shape == (3, OUT, OUT)

    model = MODELS.build(
        dict(type='PoseRegressor',
             backbone=dict(type='TorchvisionResNet', depth=18),
             head=dict(type='PoseRegressionHead', hidden_channels=256,
                       decoder=codec,
                       loss=dict(type='PoseLoss',
                                 site_weights=(1.0, 1.0, 4.0))),
             objects=dict(model_points={1: box_faces()[0].astype(np.float32)},
                          diameters={1: DIAMETER}, symmetric_obj_ids=())))
    steps = 150
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    optim = OptimWrapper(optimizer)
    start = time.time()
    for _ in range(steps):
        model.train()
        model.train_step(batch, optim)
        schedule.step()
    elapsed = time.time() - start

    precise_bn(model, model.data_preprocessor(batch)['inputs'])
    model.eval()
    with torch.no_grad():
        out = model.test_step(batch)
    pred_R = torch.stack([s.pred_R for s in out])
    gt_R = torch.stack([s.gt_R for s in out])
    rot_err = torch.rad2deg(geodesic_distance(pred_R, gt_R))
    trans_err = torch.stack([(s.pred_t - s.gt_t).norm() for s in out])
    print(f'{steps} steps in {elapsed:.1f} s; max rotation error '
          f'{rot_err.max():.2f} deg, max translation error '
          f'{trans_err.max():.2f} mm (diameter {DIAMETER:.1f} mm)')
    assert rot_err.max() < 5.0
    assert trans_err.max() < 0.05 * DIAMETER
