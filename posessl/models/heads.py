"""Heads: the contrastive head for pretraining and the pose regression head.

Each head owns its losses. Losses and all pose geometry run in float32 with
autocast switched off, so ``--amp`` (bf16/fp16) only affects the layers.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

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
from posessl.structures import ObjectTable, stack_field

from .losses import (
    geodesic_loss,
    info_nce_loss,
    point_matching_loss,
    triplet_cosine_loss,
)

_CROP_HINT = ('the pose model needs the crop metadata written by '
              'MaskCenteredCrop and packed by PackPoseInputs')

__all__ = ['CosineContrastiveHead', 'PoseRegressionHead']


def _no_autocast(device: torch.device) -> torch.autocast:
    return torch.autocast(device_type=device.type, enabled=False)


def _sample_name(sample: object) -> str:
    get = getattr(sample, 'get', None)
    name = get('img_path', None) if get is not None else None
    return str(name) if name is not None else '<unknown image>'


def labelled_poses(data_samples: Sequence, hint: str, device: torch.device
                   ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``has_pose`` (N,) bool and the labels ``gt_R`` (N, 3, 3), ``gt_t``
    (N, 3) float32, where an unlabelled frame's labels (untrusted, maybe
    NaN) are replaced by a fixed finite pose in front of the camera, so no
    NaN reaches a loss or its gradient. ``hint`` ends the error of a sample
    without labels."""
    labelled = stack_field(data_samples, 'has_pose', hint)
    gt_R = torch.where(labelled[:, None, None],
                       stack_field(data_samples, 'gt_R', hint).float(),
                       torch.eye(3, device=device))
    gt_t = torch.where(labelled[:, None],
                       stack_field(data_samples, 'gt_t', hint).float(),
                       torch.tensor([0.0, 0.0, 1000.0], device=device))
    return labelled, gt_R, gt_t


def object_rows(objects: Optional[ObjectTable], lookup: torch.Tensor,
                data_samples: Sequence, head: str) -> torch.Tensor:
    """Row of each sample's object in a head's per-object buffers (a gather
    on the device; ``len(objects)`` is the NaN row). On the CPU, where
    checking costs no synchronisation, an object outside the table is a
    clear error; elsewhere its row is the NaN row and its losses are NaN.
    ``head`` names the head in the error."""
    if objects is None:
        raise KeyError(f'{head} has no objects; build the model with '
                       'objects=dict(models_dir=<BOP models folder>) (a '
                       "config's model.objects)")
    obj_id = stack_field(data_samples, 'obj_id', 'PackPoseInputs '
                         'packs it from the dataset')
    rows = objects.rows(obj_id, lookup)
    if rows.device.type == 'cpu' and bool((rows == len(objects)).any()):
        bad = int(torch.nonzero(rows == len(objects))[0, 0])
        raise KeyError(
            f'no model points for obj_id {int(obj_id[bad])} (image '
            f'{_sample_name(data_samples[bad])}); the model knows '
            f'{list(objects.obj_ids)} (from its objects=)')
    return rows


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

    Model points, diameters and symmetric ids come from an
    :class:`~posessl.structures.ObjectTable` (:meth:`set_objects`); points
    are subsampled to ``num_points`` and kept as non-persistent buffers
    (not in checkpoints). Everything per sample is read from the typed
    tensors of the data samples (``crop_K``, ``cam_K``, ``mask_area``,
    ``obj_id``, ``has_pose``, ``gt_R``, ``gt_t``) by stacking and gathering:
    no Python loop over samples and no host synchronisation.

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
        self.objects: Optional[ObjectTable] = None
        for name, empty in (('obj_points', torch.zeros(0, num_points, 3)),
                            ('obj_diameters', torch.zeros(0)),
                            ('obj_symmetric', torch.zeros(0, dtype=bool)),
                            ('obj_lookup', torch.zeros(0, dtype=int))):
            self.register_buffer(name, empty, persistent=False)

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

    # ---------------------------------------------------------- objects
    def set_objects(self, objects: ObjectTable) -> None:
        """Take the objects' points, diameters and symmetry flags.

        The points are subsampled to ``num_points`` per object
        (:meth:`ObjectTable.subsample`) and kept, with the diameters and
        flags, as non-persistent buffers (not in checkpoints) of one extra
        row of NaN, where samples of objects outside the table land.
        """
        table = objects.subsample(self.num_points)
        device = self.obj_points.device
        nan = float('nan')
        self.obj_points = torch.cat(
            [table.points, torch.full((1, self.num_points, 3), nan)]).to(
                device)
        self.obj_diameters = torch.cat(
            [table.diameters.float(), torch.tensor([nan])]).to(device)
        self.obj_symmetric = torch.cat(
            [table.symmetric, torch.tensor([False])]).to(device)
        self.obj_lookup = table.lookup.to(device)
        self.objects = table

    def _object_rows(self, data_samples: Sequence) -> torch.Tensor:
        """Row of each sample's object in the buffers (:func:`object_rows`)."""
        return object_rows(self.objects, self.obj_lookup, data_samples,
                           'the pose head')

    # ------------------------------------------------------------- forward
    def forward(self, feats: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Raw outputs: rotation (N, 6 or 4) and SITE ``(dx, dy, tz)``, in
        float32 even under autocast: the depth must resolve about 0.1 % (a
        millimetre at a metre), finer than bfloat16's 0.4 % steps."""
        with _no_autocast(feats.device):
            x = self.fc(feats.float())
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
        crop's zoom (``sqrt(f'_x f'_y / (f_x f_y))``). ``mask_area`` is
        positive wherever it is set (``PoseDataSample``)."""
        if self.depth_ref == 'crop':
            return None
        area = stack_field(
            data_samples, 'mask_area',
            "depth_ref='mask_area' needs a non-empty object mask "
            "(LoadImageAndMask, then MaskCenteredCrop); use depth_ref='crop' "
            'without masks')
        cam_K = stack_field(data_samples, 'cam_K', _CROP_HINT).float()
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
            crop_K = stack_field(data_samples, 'crop_K',
                                 _CROP_HINT).float()
            R = self.rotation_matrix(rot)
            if self.allocentric:
                R = ray_rotation(crop_center_ray(crop_K, out_size)) @ R
            ref = self.depth_reference(data_samples, crop_K)
            t = site_decode(site, crop_K, out_size, self.depth_scale, ref)
        return R, t, crop_K, ref

    def loss(self, feats: torch.Tensor, data_samples: Sequence,
             out_size: Sequence[int]) -> Dict[str, torch.Tensor]:
        """Weighted ``loss_pm``, ``loss_rot``, ``loss_site`` and the logged
        ``rot_err`` (deg) and ``trans_err`` (mm) of the labelled frames.

        Every sample needs ``gt_R`` / ``gt_t`` (an unlabelled frame's may be
        anything: a fixed pose replaces them); ``has_pose`` weights the
        frames (1 labelled, 0 not), so the batch is reduced with masked
        means, not by selecting rows: no host synchronisation. A batch
        without a labelled frame gives zero losses and errors.
        """
        rot, site = self(feats)
        R, t, crop_K, ref = self._decode(rot, site, data_samples, out_size)
        hint = ('the pose loss needs gt_R / gt_t on every training sample '
                '(has_pose says which are used)')
        with _no_autocast(R.device):
            labelled, gt_R, gt_t = labelled_poses(data_samples, hint,
                                                  R.device)
            weight = labelled.float()
            rows = self._object_rows(data_samples)
            points = self.obj_points[rows]
            symmetric = self.obj_symmetric[rows]
            count = weight.sum().clamp(min=1)

            def mean(values: torch.Tensor) -> torch.Tensor:
                return (values * weight).sum() / count

            pm = point_matching_loss(R, gt_R, points,
                                     scale=self.obj_diameters[rows],
                                     symmetric=symmetric, norm=self.pm_norm)
            angles = geodesic_loss(R, gt_R, eps=self.geodesic_eps)
            plain = weight * ~symmetric
            rot_loss = (angles * plain).sum() / plain.sum().clamp(min=1)
            target = site_encode(gt_t, crop_K, out_size, self.depth_scale,
                                 ref)
            site_loss = ((site.float() - target).abs() *
                         self.site_weights).sum(-1)
            with torch.no_grad():
                rot_err = mean(torch.rad2deg(geodesic_distance(R, gt_R)))
                trans_err = mean(torch.linalg.vector_norm(t - gt_t, dim=-1))
        return dict(
            loss_pm=self.pm_weight * mean(pm),
            loss_rot=self.rot_weight * rot_loss,
            loss_site=self.site_weight * mean(site_loss),
            rot_err=rot_err,
            trans_err=trans_err)

    def predict(self, feats: torch.Tensor, data_samples: Sequence,
                out_size: Sequence[int]) -> Sequence:
        """Fill ``pred_R`` (3, 3) and ``pred_t`` (3,) float32 (mm)."""
        rot, site = self(feats)
        R, t, _ = self.decode(rot, site, data_samples, out_size)
        for sample, R_i, t_i in zip(data_samples, R.detach().unbind(0),
                                    t.detach().unbind(0)):
            sample.set_field(R_i, 'pred_R')  # float32 (3, 3) and (3,)
            sample.set_field(t_i, 'pred_t')
        return data_samples
