"""Heads: the contrastive head for pretraining and the pose regression head.

Each head owns its losses. Losses and all pose geometry run in float32 with
autocast switched off, so ``--amp`` (bf16/fp16) only affects the layers.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from posessl.geometry import (
    DEFAULT_DEPTH_SCALE,
    crop_center_ray,
    geodesic_distance,
    quaternion_to_matrix,
    ray_rotation,
    rot6d_to_matrix,
    site_decode,
    site_encode,
)
from posessl.registry import MODELS

from .losses import (
    geodesic_loss,
    info_nce_loss,
    point_matching_loss,
    triplet_cosine_loss,
)
from .utils import metainfo_tensor

__all__ = ['CosineContrastiveHead', 'PoseRegressionHead']


def _no_autocast(device: torch.device) -> torch.autocast:
    return torch.autocast(device_type=device.type, enabled=False)


def _sample_name(sample: object) -> str:
    get = getattr(sample, 'get', None)
    name = get('img_path', None) if get is not None else None
    return str(name) if name is not None else '<unknown image>'


@MODELS.register_module()
class CosineContrastiveHead(BaseModule):
    """Contrastive loss on cosine similarity of (anchor, positive, negative).

    ``mode='triplet'``: ``relu(cos(a, n) - cos(a, p) + m_i)`` with
    ``m_i = min(margin + margin_per_frame * d_i, max_margin)``, ``d_i`` the
    anchor's ``negative_frame_distance`` metainfo (only read when
    ``margin_per_frame > 0``): a negative further along the sequence must be
    pushed further away. ``mode='infonce'``: InfoNCE with every other sample
    of the batch as a negative (:func:`posessl.models.losses.info_nce_loss`).

    The loss dict holds ``loss`` and the logged (not summed) ``pos_sim`` and
    ``neg_sim``: mean ``cos(a, p)`` and ``cos(a, n)``.
    """

    def __init__(self,
                 mode: str = 'triplet',
                 margin: float = 0.5,
                 margin_per_frame: float = 0.0,
                 max_margin: float = 2.0,
                 temperature: float = 0.1,
                 loss_weight: float = 1.0,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg)
        if mode not in ('triplet', 'infonce'):
            raise ValueError("CosineContrastiveHead: mode must be 'triplet' "
                             f"or 'infonce', got {mode!r}")
        if temperature <= 0:
            raise ValueError('CosineContrastiveHead: temperature must be '
                             f'positive, got {temperature}')
        self.mode = mode
        self.margin = margin
        self.margin_per_frame = margin_per_frame
        self.max_margin = max_margin
        self.temperature = temperature
        self.loss_weight = loss_weight

    def margins(self, data_samples: Optional[Sequence],
                batch: int, device: torch.device) -> torch.Tensor:
        """Per-triplet margins (B,), growing with the negative's distance."""
        if self.margin_per_frame == 0:
            return torch.full((batch, ), self.margin, device=device)
        if data_samples is None or len(data_samples) != batch:
            raise ValueError('a margin growing with frame distance needs one '
                             'data sample per triplet')
        distances = []
        for sample in data_samples:
            dist = sample.get('negative_frame_distance', None)
            if dist is None:
                raise KeyError(
                    f'data sample of {_sample_name(sample)} has no '
                    "'negative_frame_distance'; it comes from TripletDataset "
                    '(or set margin_per_frame=0)')
            distances.append(float(dist))
        dist = torch.tensor(distances, dtype=torch.float32, device=device)
        return (self.margin + self.margin_per_frame * dist).clamp(
            max=self.max_margin)

    def loss(self,
             anchor: torch.Tensor,
             positive: torch.Tensor,
             negative: torch.Tensor,
             data_samples: Optional[Sequence] = None
             ) -> Dict[str, torch.Tensor]:
        """Loss dict from (B, E) embeddings of anchors, positives, negatives.
        """
        with _no_autocast(anchor.device):
            anchor, positive = anchor.float(), positive.float()
            negative = negative.float()
            if self.mode == 'triplet':
                margin = self.margins(data_samples, anchor.shape[0],
                                      anchor.device)
                loss = triplet_cosine_loss(anchor, positive, negative,
                                           margin)
            else:
                loss = info_nce_loss(anchor, positive, negative,
                                     self.temperature)
            with torch.no_grad():
                cos = nn.functional.cosine_similarity
                pos_sim = cos(anchor, positive, dim=-1).mean()
                neg_sim = cos(anchor, negative, dim=-1).mean()
        return dict(
            loss=self.loss_weight * loss.mean(),
            pos_sim=pos_sim,
            neg_sim=neg_sim)


@MODELS.register_module()
class PoseRegressionHead(BaseModule):
    """Rotation and SITE translation from pooled features.

    Two FC layers (``in_channels -> hidden -> hidden``, ReLU), then a rotation
    output (``rot_repr='6d'``, Zhou et al., or ``'quat'``, a scalar-first
    quaternion normalised before use) and a SITE output ``(dx, dy, tz)``
    (:mod:`posessl.geometry.site`). Decoding uses each sample's ``crop_K``
    and the input size, and returns ``R`` (orthonormal, det +1) and ``t``
    (mm) in the original camera frame.

    With ``allocentric=True`` the network's rotation is taken relative to the
    viewing ray through the crop centre, ``R = ray_rotation(ray) @ R_net``:
    the crop looks the same wherever the object sits in the image, so the
    network should not have to know where that was.

    Losses (weights in config; only frames with ``has_pose``):

    * ``loss_pm``: point matching, L1 (or L2) distance between ``R^ X`` and
      ``R X`` over the object's model points divided by its diameter; the
      nearest-point (ADD-S) form for symmetric objects.
    * ``loss_rot``: geodesic angle (rad) clipped away from +-1; symmetric
      objects are left out (their rotation label is ambiguous).
    * ``loss_site``: L1 on ``(dx, dy, tz)`` weighted by ``site_weights``.

    Model points, diameters and symmetric ids come from
    :meth:`set_model_info`; points are subsampled to ``num_points`` and kept
    as non-persistent buffers (not in checkpoints).

    Args:
        in_channels: feature width (the model fills it in from its backbone).
        hidden_channels: width of the two FC layers.
        rot_repr: ``'6d'`` or ``'quat'``.
        allocentric: rotation relative to the crop centre's ray.
        depth_scale: mm, the SITE depth normaliser.
        num_points: model points per object used by the loss.
        pm_norm: ``'l1'`` or ``'l2'``.
        pm_weight, rot_weight, site_weight: loss weights.
        site_weights: weights of the ``dx``, ``dy``, ``tz`` terms.
        geodesic_eps: clipping of the geodesic loss's cosine.
        depth_ref: what the SITE depth ``tz`` is measured against
            (:mod:`posessl.geometry.site`): ``'crop'``, the input window
            (CDPN / GDR-Net's way), or ``'mask_area'``, the square root of
            the object's visible mask area (``mask_area`` in the metainfo,
            written by ``MaskCenteredCrop``), which varies less with the
            viewpoint. With occlusion the visible area shrinks and
            ``'mask_area'`` overestimates the depth: keep ``'crop'`` there.
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 hidden_channels: int = 256,
                 rot_repr: str = '6d',
                 allocentric: bool = True,
                 depth_scale: float = DEFAULT_DEPTH_SCALE,
                 num_points: int = 300,
                 pm_norm: str = 'l1',
                 pm_weight: float = 1.0,
                 rot_weight: float = 1.0,
                 site_weight: float = 1.0,
                 site_weights: Sequence[float] = (1.0, 1.0, 1.0),
                 geodesic_eps: float = 1e-6,
                 depth_ref: str = 'crop',
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg)
        if in_channels is None:
            raise ValueError('PoseRegressionHead needs in_channels (the '
                             'model fills it in from backbone.out_channels)')
        if rot_repr not in ('6d', 'quat'):
            raise ValueError("PoseRegressionHead: rot_repr must be '6d' or "
                             f"'quat', got {rot_repr!r}")
        if depth_ref not in ('crop', 'mask_area'):
            raise ValueError("PoseRegressionHead: depth_ref must be 'crop' "
                             f"or 'mask_area', got {depth_ref!r}")
        if pm_norm not in ('l1', 'l2'):
            raise ValueError("PoseRegressionHead: pm_norm must be 'l1' or "
                             f"'l2', got {pm_norm!r}")
        self.in_channels = in_channels
        self.rot_repr = rot_repr
        self.allocentric = allocentric
        self.depth_scale = float(depth_scale)
        self.num_points = num_points
        self.pm_norm = pm_norm
        self.pm_weight = pm_weight
        self.rot_weight = rot_weight
        self.site_weight = site_weight
        self.geodesic_eps = geodesic_eps
        self.depth_ref = depth_ref
        self.register_buffer(
            'site_weights',
            torch.tensor(site_weights, dtype=torch.float32),
            persistent=False)
        self.fc = nn.Sequential(
            nn.Linear(in_channels, hidden_channels), nn.ReLU(inplace=True),
            nn.Linear(hidden_channels, hidden_channels),
            nn.ReLU(inplace=True))
        self.rot_out = nn.Linear(hidden_channels,
                                 6 if rot_repr == '6d' else 4)
        self.site_out = nn.Linear(hidden_channels, 3)
        self._reset_outputs()
        self._diameters: Dict[int, float] = {}
        self._symmetric: set = set()

    def _reset_outputs(self) -> None:
        """Start from the identity rotation, the crop centre and tz = 1."""
        for layer in (self.rot_out, self.site_out):
            nn.init.normal_(layer.weight, std=0.01)
        identity = [1., 0., 0., 0., 1., 0.] if self.rot_repr == '6d' else [
            1., 0., 0., 0.
        ]
        with torch.no_grad():
            self.rot_out.bias.copy_(torch.tensor(identity))
            self.site_out.bias.copy_(torch.tensor([0., 0., 1.]))

    # ----------------------------------------------------------- model info
    def set_model_info(self, model_points: Mapping,
                       diameters: Mapping,
                       symmetric_obj_ids: Sequence[int] = ()) -> None:
        """Store model points (subsampled), diameters and symmetric ids.

        Args:
            model_points: ``{obj_id: (N, 3) float mm}``.
            diameters: ``{obj_id: float mm}``.
            symmetric_obj_ids: ids compared in the nearest-point form.
        """
        param = next(self.parameters())
        for key, points in model_points.items():
            obj_id = int(key)
            points = np.asarray(points, dtype=np.float32)
            if points.ndim != 2 or points.shape[1] != 3 or not len(points):
                raise ValueError(f'model_points of obj_id {obj_id} must be a '
                                 f'non-empty (N, 3) array, got {points.shape}')
            if not np.isfinite(points).all():
                raise ValueError(f'model_points of obj_id {obj_id} hold '
                                 'NaN or inf')
            diameter = diameters.get(obj_id, diameters.get(str(obj_id)))
            if diameter is None or not float(diameter) > 0:
                raise ValueError(f'obj_id {obj_id} needs a positive diameter '
                                 f'in the dataset metainfo, got {diameter!r}')
            rng = np.random.default_rng(obj_id)
            if len(points) >= self.num_points:
                index = np.sort(
                    rng.choice(len(points), self.num_points, replace=False))
            else:  # repeat points evenly to a fixed count
                index = np.resize(np.arange(len(points)), self.num_points)
            self.register_buffer(
                f'model_points_{obj_id}',
                torch.as_tensor(points[index], device=param.device),
                persistent=False)
            self._diameters[obj_id] = float(diameter)
        self._symmetric = {int(i) for i in symmetric_obj_ids}

    def _object_info(self, samples: Sequence, device: torch.device
                     ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        points, diameters, symmetric = [], [], []
        for sample in samples:
            obj_id = int(sample.get('obj_id', -1))
            buffer = getattr(self, f'model_points_{obj_id}', None)
            if buffer is None:
                raise KeyError(
                    f'no model points for obj_id {obj_id} (image '
                    f'{_sample_name(sample)}); call '
                    'model.set_dataset_meta(dataset.metainfo) first '
                    '(DatasetMetaHook does this before train/val/test)')
            points.append(buffer.float())
            diameters.append(self._diameters[obj_id])
            symmetric.append(obj_id in self._symmetric)
        return (torch.stack(points).to(device),
                torch.tensor(diameters, dtype=torch.float32, device=device),
                torch.tensor(symmetric, dtype=torch.bool, device=device))

    # ------------------------------------------------------------- forward
    def forward(self, feats: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Raw outputs: rotation (N, 6 or 4) and SITE ``(dx, dy, tz)``."""
        x = self.fc(feats)
        return self.rot_out(x), self.site_out(x)

    def rotation_matrix(self, rot: torch.Tensor) -> torch.Tensor:
        """The network's rotation output as matrices (crop-ray frame when
        ``allocentric``)."""
        if self.rot_repr == '6d':
            return rot6d_to_matrix(rot)
        return quaternion_to_matrix(rot)

    def depth_reference(self, data_samples: Sequence, crop_K: torch.Tensor
                        ) -> Optional[torch.Tensor]:
        """Per-sample ``ref_size`` (input pixels) of :func:`site_encode`:
        None for ``depth_ref='crop'``, else ``sqrt(mask_area)`` times the
        crop's zoom (``sqrt(f'_x f'_y / (f_x f_y))``)."""
        if self.depth_ref == 'crop':
            return None
        # checked on the host: no device synchronisation in the step
        area = metainfo_tensor(
            data_samples, 'mask_area', torch.device('cpu'),
            hint="depth_ref='mask_area' needs the object mask "
            "(LoadImageAndMask, then MaskCenteredCrop); use depth_ref='crop' "
            'without masks')
        if not torch.all(area > 0):
            bad = int(torch.nonzero(area <= 0)[0, 0])
            raise ValueError(f'data sample of '
                             f'{_sample_name(data_samples[bad])} has an '
                             'empty mask (mask_area 0)')
        area = area.to(crop_K.device)
        cam_K = metainfo_tensor(data_samples, 'cam_K', crop_K.device,
                                shape=(3, 3))
        zoom = torch.sqrt(crop_K[:, 0, 0] * crop_K[:, 1, 1] /
                          (cam_K[:, 0, 0] * cam_K[:, 1, 1]))
        return torch.sqrt(area) * zoom

    def decode(self, rot: torch.Tensor, site: torch.Tensor,
               data_samples: Sequence, out_size: Sequence[int]
               ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``R`` (N, 3, 3), ``t`` (N, 3) mm in the original camera frame.

        Also returns each sample's ``crop_K`` (N, 3, 3). float32.
        """
        return self._decode(rot, site, data_samples, out_size)[:3]

    def _decode(self, rot: torch.Tensor, site: torch.Tensor,
                data_samples: Sequence, out_size: Sequence[int]
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                           Optional[torch.Tensor]]:
        """:meth:`decode`, and the depth reference it used (the loss
        encodes its targets with the same one)."""
        if len(data_samples) != rot.shape[0]:
            raise ValueError(f'{rot.shape[0]} images but '
                             f'{len(data_samples)} data samples')
        with _no_autocast(rot.device):
            rot, site = rot.float(), site.float()
            crop_K = metainfo_tensor(data_samples, 'crop_K', rot.device,
                                     shape=(3, 3))
            R = self.rotation_matrix(rot)
            if self.allocentric:
                R = ray_rotation(crop_center_ray(crop_K, out_size)) @ R
            ref = self.depth_reference(data_samples, crop_K)
            t = site_decode(site, crop_K, out_size, self.depth_scale, ref)
        return R, t, crop_K, ref

    def loss(self, feats: torch.Tensor, data_samples: Sequence,
             out_size: Sequence[int]) -> Dict[str, torch.Tensor]:
        """Weighted ``loss_pm``, ``loss_rot``, ``loss_site`` and the logged
        ``rot_err`` (deg) and ``trans_err`` (mm) of the labelled frames."""
        rot, site = self(feats)
        R, t, crop_K, ref = self._decode(rot, site, data_samples, out_size)
        device = R.device
        keep = [i for i, s in enumerate(data_samples)
                if bool(s.get('has_pose', True))]
        with _no_autocast(device):
            zero = (rot.float().sum() + site.float().sum()) * 0.0
            if not keep:
                return dict(loss_pm=zero, loss_rot=zero, loss_site=zero)
            samples = [data_samples[i] for i in keep]
            index = torch.tensor(keep, device=device)
            for sample in samples:
                if 'gt_R' not in sample or 'gt_t' not in sample:
                    raise KeyError(f'data sample of {_sample_name(sample)} '
                                   'has has_pose=True but no gt_R/gt_t')
            gt_R = torch.stack([s.gt_R for s in samples]).float()
            gt_t = torch.stack([s.gt_t for s in samples]).float()
            R, t, crop_K = R[index], t[index], crop_K[index]
            site = site.float()[index]
            points, diameters, symmetric = self._object_info(samples, device)

            pm = point_matching_loss(R, gt_R, points, scale=diameters,
                                     symmetric=symmetric, norm=self.pm_norm)
            angles = geodesic_loss(R, gt_R, eps=self.geodesic_eps)
            plain = ~symmetric
            rot_loss = (angles * plain).sum() / plain.sum().clamp(min=1)
            target = site_encode(gt_t, crop_K, out_size, self.depth_scale,
                                 None if ref is None else ref[index])
            site_loss = ((site - target).abs() * self.site_weights).sum(-1)
            with torch.no_grad():
                rot_err = torch.rad2deg(geodesic_distance(R, gt_R)).mean()
                trans_err = torch.linalg.vector_norm(t - gt_t, dim=-1).mean()
        return dict(
            loss_pm=self.pm_weight * pm.mean(),
            loss_rot=self.rot_weight * rot_loss,
            loss_site=self.site_weight * site_loss.mean(),
            rot_err=rot_err,
            trans_err=trans_err)

    def predict(self, feats: torch.Tensor, data_samples: Sequence,
                out_size: Sequence[int]) -> Sequence:
        """Fill ``pred_R`` (3, 3) and ``pred_t`` (3,) float32 (mm)."""
        rot, site = self(feats)
        R, t, _ = self.decode(rot, site, data_samples, out_size)
        for sample, R_i, t_i in zip(data_samples, R, t):
            sample.pred_R = R_i.detach().float()
            sample.pred_t = t_i.detach().float()
        return data_samples
