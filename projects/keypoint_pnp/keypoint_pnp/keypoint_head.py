"""A pose head that predicts 2D box keypoints and solves the pose with PnP."""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from posessl.geometry import project_points
from posessl.models.heads import CROP_HINT, BasePoseHead
from posessl.models.utils import labelled_poses, no_autocast
from posessl.registry import MODELS
from posessl.structures import ObjectTable, stack_field

from .keypoints import (
    NUM_BOX_KEYPOINTS,
    box_keypoints,
    crop_coords_to_pixels,
    pixels_to_crop_coords,
    solve_pnp,
)

__all__ = ['KeypointPnPHead']


@MODELS.register_module()
class KeypointPnPHead(BasePoseHead):
    """Box keypoints in the crop from pooled features; the pose by PnP.

    The keypoints of an object are the 8 corners of its model points'
    axis-aligned box (model frame, mm) and the box centre
    (:func:`.keypoints.box_keypoints`; BB8 / YOLO-6D). The shared trunk
    (:class:`~posessl.models.heads.BasePoseHead`: two FC layers, ReLU; its
    objects and their rows; no codec, its own loss) and a linear layer give
    their 9 positions in crop coordinates (N, 9, 2)
    (:func:`.keypoints.pixels_to_crop_coords`: offsets from the
    input's centre pixel over its size), which do not depend on the input
    resolution.

    ``loss`` projects the keypoints with the ground-truth pose through each
    sample's ``crop_K`` (batched, on the device; no host synchronisation)
    and takes the smooth L1 (``beta`` in crop coordinates; 0: L1) distance,
    the mean over the 18 coordinates: ``loss_kpt``, a masked mean over the
    frames with ``has_pose``. ``predict`` is the only host work, and only
    at test time: per sample, PnP (:func:`.keypoints.solve_pnp`,
    EPnP + Levenberg-Marquardt) on the 9 2D-3D pairs with ``crop_K``, which
    is the original camera in crop pixels, so ``R, t`` are directly in the
    original camera frame. A failed PnP gives a NaN pose (the metric's
    failure), never an exception.

    A symmetric object's box keypoints are ambiguous (two views a symmetry
    apart put different corners in the same places), so the loss asks for
    one of several equally right answers and the network can only learn a
    compromise between them; the metric's ADD-S still applies to such
    objects, but this head does nothing to resolve the ambiguity.

    The keypoints come from an :class:`~posessl.structures.ObjectTable`
    (:meth:`set_objects`), all of each object's points, and are kept as a
    non-persistent buffer (not in checkpoints) beside the base's.

    Args:
        in_channels: feature width (the model fills it in from its backbone).
        hidden_channels: width of the two FC layers.
        kpt_weight: weight of ``loss_kpt``.
        beta: smooth L1 threshold in crop coordinates (1 / 64 is one pixel
            of a 64 px input); 0 gives the plain L1 distance.
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 hidden_channels: int = 256,
                 kpt_weight: float = 1.0,
                 beta: float = 0.0,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if beta < 0:
            raise ValueError('KeypointPnPHead: beta must not be negative, '
                             f'got {beta}')
        super().__init__(in_channels, hidden_channels, init_cfg=init_cfg)
        self.kpt_weight = kpt_weight
        self.beta = float(beta)
        self.kpt_out = nn.Linear(hidden_channels, 2 * NUM_BOX_KEYPOINTS)
        # start with every keypoint near the crop centre
        nn.init.normal_(self.kpt_out.weight, std=0.01)
        nn.init.zeros_(self.kpt_out.bias)
        self.register_buffer('obj_keypoints',
                             torch.zeros(0, NUM_BOX_KEYPOINTS, 3),
                             persistent=False)

    def set_objects(self, objects: ObjectTable) -> None:
        """The base's objects, and their box keypoints (from all their
        model points) as a non-persistent buffer (K + 1, 9, 3), mm, whose
        last row is NaN: where samples of objects outside the table land."""
        super().set_objects(objects)
        keypoints = [box_keypoints(objects.object_points(obj_id))
                     for obj_id in objects.obj_ids]
        keypoints.append(np.full((NUM_BOX_KEYPOINTS, 3), np.nan))
        self.obj_keypoints = torch.as_tensor(
            np.stack(keypoints), dtype=torch.float32).to(
                self.obj_keypoints.device)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """Keypoints (N, 9, 2) in crop coordinates, in float32 even under
        autocast (sub-pixel positions; see ``PoseRegressionHead.forward``)."""
        with no_autocast(feats.device):
            out = self.kpt_out(self.fc(feats.float()))
        return out.unflatten(-1, (NUM_BOX_KEYPOINTS, 2))

    def target_keypoints(self, data_samples: Sequence,
                         out_size: Sequence[int]) -> Dict[str, torch.Tensor]:
        """The ground-truth keypoints of every sample (float32):
        ``pixels`` (N, 9, 2) in the input, ``coords`` (N, 9, 2) in crop
        coordinates and ``weight`` (N,), 1 where ``has_pose``, else 0.

        An unlabelled frame's labels (maybe NaN) are replaced by a fixed
        pose in front of the camera, so its targets are finite.
        """
        hint = ('the keypoint loss needs gt_R / gt_t on every training '
                'sample (has_pose says which are used)')
        crop_K = stack_field(data_samples, 'crop_K', CROP_HINT).float()
        labelled, gt_R, gt_t = labelled_poses(data_samples, hint,
                                              crop_K.device)
        points = self.obj_keypoints[self.object_rows(data_samples)]
        pixels = project_points(points, gt_R, gt_t, crop_K)
        return dict(pixels=pixels,
                    coords=pixels_to_crop_coords(pixels, out_size),
                    weight=labelled.float())

    def loss(self, feats: torch.Tensor, data_samples: Sequence,
             out_size: Sequence[int]) -> Dict[str, torch.Tensor]:
        """Weighted ``loss_kpt`` and the logged ``kpt_err``, the mean
        keypoint distance in input pixels, of the labelled frames.

        Masked means over ``has_pose`` (no selection of rows, no host
        synchronisation); a batch without a labelled frame gives zeros.
        """
        pred = self(feats)
        if len(data_samples) != pred.shape[0]:
            raise ValueError(f'{pred.shape[0]} images but '
                             f'{len(data_samples)} data samples')
        with no_autocast(pred.device):
            pred = pred.float()
            target = self.target_keypoints(data_samples, out_size)
            weight = target['weight']
            count = weight.sum().clamp(min=1)
            per_sample = F.smooth_l1_loss(
                pred, target['coords'], reduction='none',
                beta=self.beta).mean((-2, -1))
            with torch.no_grad():
                distance = torch.linalg.vector_norm(
                    crop_coords_to_pixels(pred, out_size) -
                    target['pixels'], dim=-1).mean(-1)
                kpt_err = (distance * weight).sum() / count
        return dict(
            loss_kpt=self.kpt_weight * (per_sample * weight).sum() / count,
            kpt_err=kpt_err)

    def predict(self, feats: torch.Tensor, data_samples: Sequence,
                out_size: Sequence[int]) -> Sequence:
        """Fill ``pred_R`` (3, 3) and ``pred_t`` (3,) float32 (mm, original
        camera frame) by PnP on the host; NaN where PnP fails."""
        pred = self(feats)
        if len(data_samples) != pred.shape[0]:
            raise ValueError(f'{pred.shape[0]} images but '
                             f'{len(data_samples)} data samples')
        with no_autocast(pred.device):
            pixels = crop_coords_to_pixels(pred.detach().float(), out_size)
        points = self.obj_keypoints[self.object_rows(data_samples)]
        # the one host transfer: PnP runs in OpenCV
        pixels = pixels.cpu().double().numpy()
        points = points.cpu().double().numpy()
        crop_K = stack_field(data_samples, 'crop_K',
                             CROP_HINT).cpu().double().numpy()
        for sample, *pairs in zip(data_samples, points, pixels, crop_K):
            R, t = solve_pnp(*pairs)
            sample.set_field(
                torch.as_tensor(R, dtype=torch.float32, device=pred.device),
                'pred_R')
            sample.set_field(
                torch.as_tensor(t, dtype=torch.float32, device=pred.device),
                'pred_t')
        return data_samples
