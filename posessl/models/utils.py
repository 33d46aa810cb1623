"""Helpers shared by the posessl models (and the heads of projects)."""
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from posessl.registry import MODELS
from posessl.structures import stack_field

__all__ = [
    'pool_features', 'infer_out_channels', 'build_on_backbone',
    'project', 'triplet_view_loss', 'no_autocast', 'labelled_poses'
]


def no_autocast(device: torch.device) -> torch.autocast:
    """A context with autocast off on ``device``'s type."""
    return torch.autocast(device_type=device.type, enabled=False)


def labelled_poses(data_samples: Sequence, hint: str, device: torch.device
                   ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``has_pose`` (N,) bool and the labels ``gt_R`` (N, 3, 3), ``gt_t``
    (N, 3) mm float32; an unlabelled frame's (maybe NaN) labels are replaced
    by a fixed finite pose. ``hint`` ends the error of a missing field."""
    labelled = stack_field(data_samples, 'has_pose', hint)
    gt_R = torch.where(labelled[:, None, None],
                       stack_field(data_samples, 'gt_R', hint).float(),
                       torch.eye(3, device=device))
    gt_t = torch.where(labelled[:, None],
                       stack_field(data_samples, 'gt_t', hint).float(),
                       torch.tensor([0.0, 0.0, 1000.0], device=device))
    return labelled, gt_R, gt_t


def pool_features(output: Any) -> torch.Tensor:
    """Pooled (N, C) features of a backbone's output: an (N, C) tensor, an
    (N, C, H, W) one (averaged), or a tuple / list of them (its last).

    Raises:
        TypeError, ValueError: any other output.
    """
    if isinstance(output, (tuple, list)):
        if not output:
            raise ValueError('the backbone returned an empty tuple')
        output = output[-1]
    if not isinstance(output, torch.Tensor):
        raise TypeError('a backbone must return a tensor or a tuple of '
                        f'tensors, got {type(output).__name__}')
    if output.dim() == 4:
        return output.mean(dim=(2, 3))
    if output.dim() == 2:
        return output
    raise ValueError('backbone output must be (N, C) or (N, C, H, W), got '
                     f'{tuple(output.shape)}')


def infer_out_channels(backbone: nn.Module) -> int:
    """``backbone.out_channels``, else the width of one dummy forward pass
    (in eval mode, without gradients; the mode is restored)."""
    out_channels = getattr(backbone, 'out_channels', None)
    if isinstance(out_channels, int):
        return out_channels
    was_training = backbone.training
    backbone.eval()
    try:
        param = next(backbone.parameters(), None)
        device = param.device if param is not None else 'cpu'
        with torch.no_grad():
            x = torch.zeros(1, 3, 64, 64, device=device)
            width = pool_features(backbone(x)).shape[1]
    finally:
        backbone.train(was_training)
    return int(width)


def build_on_backbone(cfg: dict, backbone: nn.Module) -> nn.Module:
    """Build a neck or head that reads ``backbone``'s pooled features, its
    ``in_channels`` filled in from the backbone where the config leaves it
    out (or None)."""
    cfg = dict(cfg)
    if cfg.get('in_channels') is None:
        cfg['in_channels'] = infer_out_channels(backbone)
    return MODELS.build(cfg)


def project(neck: nn.Module, feats: torch.Tensor) -> torch.Tensor:
    """L2-normalised float32 embeddings (N, E) of pooled features (N, D)."""
    return F.normalize(neck(feats).float(), dim=-1)


def triplet_view_loss(neck: nn.Module, head: nn.Module, feats: torch.Tensor,
                      data_samples: Optional[Sequence]
                      ) -> Dict[str, torch.Tensor]:
    """The contrastive ``head``'s loss dict of a triplet batch's pooled
    features (3B, D), anchors then positives then negatives, projected by
    ``neck``."""
    batch = feats.shape[0] // 3
    z = project(neck, feats)
    return head.loss(z[:batch], z[batch:2 * batch], z[2 * batch:],
                     data_samples)
