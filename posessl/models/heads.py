"""The contrastive pretraining head and the pose heads, each owning its loss.

Outputs, losses and pose geometry run in float32 with autocast off.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from posessl.geometry import (
    geodesic_distance,
    quaternion_to_matrix,
    rot6d_to_matrix,
)
from posessl.registry import CODECS, MODELS
from posessl.structures import ObjectTable, sample_name, stack_field

from .losses import info_nce_loss, triplet_cosine_loss
from .utils import labelled_poses, no_autocast

CROP_HINT = ('the pose model needs the crop metadata written by '
             'MaskCenteredCrop and packed by PackPoseInputs')

__all__ = ['CosineContrastiveHead', 'BasePoseHead', 'PoseRegressionHead']


@MODELS.register_module()
class CosineContrastiveHead(BaseModule):
    """Contrastive loss on the cosine similarity of (anchor, positive,
    negative) embeddings.

    Args:
        mode: ``'triplet'``: ``relu(cos(a, n) - cos(a, p) + m_i)`` with
            ``m_i = min(margin + margin_per_frame * d_i, max_margin)``,
            ``d_i`` the sample's ``negative_frame_distance`` (frames; read
            only when ``margin_per_frame > 0``). ``'infonce'``:
            :func:`~posessl.models.losses.info_nce_loss`.
        margin, margin_per_frame, max_margin: the triplet margin.
        temperature: InfoNCE temperature, > 0.
        loss_weight: factor on ``loss``.

    Raises:
        ValueError: an unknown ``mode`` or ``temperature <= 0``.
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
        """Per-triplet margins (B,).

        Raises:
            ValueError: ``margin_per_frame > 0`` without one data sample per
                triplet.
            KeyError: a sample without ``negative_frame_distance``.
        """
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
                    f'data sample of {sample_name(sample)} has no '
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
        """``loss`` and the logged (not summed) ``pos_sim`` / ``neg_sim``
        (mean ``cos(a, p)`` / ``cos(a, n)``) of (B, E) embeddings."""
        with no_autocast(anchor.device):
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


class BasePoseHead(BaseModule):
    """Base of the pose heads: an FC trunk ``fc`` (``in_channels -> hidden
    -> hidden``, ReLU), the objects, the ``decoder`` codec and the
    ``loss_module``.

    The objects (:meth:`set_objects`) live in non-persistent buffers
    ``obj_points`` (O + 1, P, 3) mm, ``obj_diameters``, ``obj_symmetric``,
    whose last row (NaN) is where objects outside the table land.

    Args:
        in_channels: feature width (the model fills it in).
        hidden_channels: width of the FC layers.
        num_points: model points per object kept for the loss.
        decoder: ``CODECS`` config (the pipeline's ``GeneratePoseTarget``
            codec), or None.
        loss: ``MODELS`` config, or None.

    Raises:
        ValueError: ``in_channels`` is None.
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 hidden_channels: int = 256,
                 num_points: int = 300,
                 decoder: Optional[dict] = None,
                 loss: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg)
        if in_channels is None:
            raise ValueError(f'{type(self).__name__} needs in_channels (the '
                             'model fills it in from backbone.out_channels)')
        self.in_channels = in_channels
        self.num_points = num_points
        self.fc = nn.Sequential(
            nn.Linear(in_channels, hidden_channels), nn.ReLU(inplace=True),
            nn.Linear(hidden_channels, hidden_channels),
            nn.ReLU(inplace=True))
        self.decoder = None if decoder is None else CODECS.build(decoder)
        self.loss_module = None if loss is None else MODELS.build(loss)
        self.objects: Optional[ObjectTable] = None
        for name, empty in (('obj_points', torch.zeros(0, num_points, 3)),
                            ('obj_diameters', torch.zeros(0)),
                            ('obj_symmetric', torch.zeros(0, dtype=bool)),
                            ('obj_lookup', torch.zeros(0, dtype=int))):
            self.register_buffer(name, empty, persistent=False)

    def set_objects(self, objects: ObjectTable) -> None:
        """Take the objects' points (subsampled to ``num_points``),
        diameters and symmetry flags."""
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

    def object_rows(self, data_samples: Sequence) -> torch.Tensor:
        """Row (N,) of each sample's object in the per-object buffers.

        Raises:
            KeyError: no objects set; on the CPU also an object outside the
                table (elsewhere it gets the NaN row, so its losses are NaN).
        """
        head = type(self).__name__
        if self.objects is None:
            raise KeyError(f'{head} has no objects; build the model with '
                           'objects=dict(models_dir=<BOP models folder>) (a '
                           "config's model.objects)")
        obj_id = stack_field(data_samples, 'obj_id', 'PackPoseInputs '
                             'packs it from the dataset')
        rows = self.objects.rows(obj_id, self.obj_lookup)
        missing = len(self.objects)
        if rows.device.type == 'cpu' and bool((rows == missing).any()):
            bad = int(torch.nonzero(rows == missing)[0, 0])
            raise KeyError(
                f'{head}: no model points for obj_id {int(obj_id[bad])} '
                f'(image {sample_name(data_samples[bad])}); the model knows '
                f'{list(self.objects.obj_ids)} (from its objects=)')
        return rows


@MODELS.register_module()
class PoseRegressionHead(BasePoseHead):
    """Rotation and SITE ``(dx, dy, tz)`` regressed from pooled features.

    The ``decoder`` (:class:`~posessl.codecs.SITECodec`) turns them into
    ``R`` and ``t`` (mm) in the camera frame with each sample's ``crop_K``
    (and ``cam_K``, ``mask_area`` for ``depth_ref='mask_area'``); the
    pipeline's ``GeneratePoseTarget`` must use the same codec config.

    Args:
        in_channels, hidden_channels, num_points: :class:`BasePoseHead`'s.
        rot_repr: ``'6d'`` (Zhou et al.) or ``'quat'`` (scalar-first).
        decoder: the codec config (``SITECodec``).
        loss: the loss config (``PoseLoss``).

    Raises:
        ValueError: a bad ``rot_repr``, or ``decoder`` / ``loss`` None.
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 hidden_channels: int = 256,
                 rot_repr: str = '6d',
                 num_points: int = 300,
                 decoder: dict = dict(type='posessl.SITECodec'),
                 loss: dict = dict(type='posessl.PoseLoss'),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if rot_repr not in ('6d', 'quat'):
            raise ValueError("PoseRegressionHead: rot_repr must be '6d' or "
                             f"'quat', got {rot_repr!r}")
        if decoder is None or loss is None:
            raise ValueError('PoseRegressionHead needs a decoder (SITECodec) '
                             'and a loss (PoseLoss) config')
        super().__init__(in_channels, hidden_channels, num_points,
                         decoder=decoder, loss=loss, init_cfg=init_cfg)
        self.rot_repr = rot_repr
        self.rot_out = nn.Linear(hidden_channels,
                                 6 if rot_repr == '6d' else 4)
        self.site_out = nn.Linear(hidden_channels, 3)
        self._reset_outputs()

    def _reset_outputs(self) -> None:
        """Start from the identity rotation, the crop centre and tz = 1."""
        for layer in (self.rot_out, self.site_out):
            nn.init.normal_(layer.weight, std=0.01)
        # 6D: the first two columns of I; quaternion: (1, 0, 0, 0)
        identity = torch.tensor([1., 0., 0., 0., 1., 0.])
        with torch.no_grad():
            self.rot_out.bias.copy_(identity[:self.rot_out.out_features])
            self.site_out.bias.copy_(torch.tensor([0., 0., 1.]))

    def forward(self, feats: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Raw outputs, float32 under autocast too: rotation (N, 6 or 4)
        and SITE (N, 3)."""
        with no_autocast(feats.device):
            x = self.fc(feats.float())
            return self.rot_out(x), self.site_out(x)

    def decode(self, rot: torch.Tensor, site: torch.Tensor,
               data_samples: Sequence, out_size: Sequence[int]
               ) -> Tuple[torch.Tensor, torch.Tensor]:
        """``R`` (N, 3, 3) and ``t`` (N, 3) mm, float32, in the camera
        frame.

        Raises:
            ValueError: as many data samples as outputs are needed.
        """
        if len(data_samples) != rot.shape[0]:
            raise ValueError(f'{rot.shape[0]} images but '
                             f'{len(data_samples)} data samples')
        with no_autocast(rot.device):
            crop_K = stack_field(data_samples, 'crop_K', CROP_HINT).float()
            cam_K = mask_area = None
            if self.decoder.uses_mask_area:
                mask_area = stack_field(
                    data_samples, 'mask_area',
                    "depth_ref='mask_area' needs a non-empty object mask "
                    '(LoadImageAndMask, then MaskCenteredCrop); use '
                    "depth_ref='crop' without masks")
                cam_K = stack_field(data_samples, 'cam_K', CROP_HINT).float()
            to_matrix = (rot6d_to_matrix if self.rot_repr == '6d' else
                         quaternion_to_matrix)
            return self.decoder.decode(
                to_matrix(rot.float()), site.float(), crop_K,
                out_size, cam_K=cam_K, mask_area=mask_area)

    def loss(self, feats: torch.Tensor, data_samples: Sequence,
             out_size: Sequence[int]) -> Dict[str, torch.Tensor]:
        """The ``loss_module``'s losses and the logged ``rot_err`` (deg) and
        ``trans_err`` (mm), means over the ``has_pose`` frames (zeros
        without one). Every sample needs ``gt_R``, ``gt_t`` (any value
        where unposed) and ``gt_site``."""
        rot, site = self(feats)
        R, t = self.decode(rot, site, data_samples, out_size)
        hint = ('the pose loss needs gt_R / gt_t on every training sample '
                '(has_pose says which are used)')
        with no_autocast(R.device):
            labelled, gt_R, gt_t = labelled_poses(data_samples, hint,
                                                  R.device)
            gt_site = stack_field(
                data_samples, 'gt_site',
                "GeneratePoseTarget encodes it with the head's codec (after "
                'MaskCenteredCrop, before PackPoseInputs)')
            weight = labelled.float()
            rows = self.object_rows(data_samples)
            losses = self.loss_module(
                R, gt_R, site.float(), gt_site, self.obj_points[rows],
                self.obj_diameters[rows], self.obj_symmetric[rows], weight)
            with torch.no_grad():
                count = weight.sum().clamp(min=1)
                rot_err = torch.rad2deg(geodesic_distance(R, gt_R))
                trans_err = torch.linalg.vector_norm(t - gt_t, dim=-1)
                losses.update(rot_err=(rot_err * weight).sum() / count,
                              trans_err=(trans_err * weight).sum() / count)
        return losses

    def predict(self, feats: torch.Tensor, data_samples: Sequence,
                out_size: Sequence[int]) -> Sequence:
        """Fill ``pred_R`` (3, 3) and ``pred_t`` (3,) float32 (mm)."""
        rot, site = self(feats)
        R, t = self.decode(rot, site, data_samples, out_size)
        for sample, R_i, t_i in zip(data_samples, R.detach().unbind(0),
                                    t.detach().unbind(0)):
            sample.set_field(R_i, 'pred_R')
            sample.set_field(t_i, 'pred_t')
        return data_samples
