"""Loss functions of the heads, each returning per-sample values, and the
registered ``PoseLoss`` that weighs and reduces them."""
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from posessl.geometry import geodesic_distance
from posessl.registry import MODELS

__all__ = [
    'triplet_cosine_loss', 'info_nce_loss', 'point_matching_loss',
    'geodesic_loss', 'PoseLoss'
]


def triplet_cosine_loss(anchor: torch.Tensor, positive: torch.Tensor,
                        negative: torch.Tensor,
                        margin: Union[float, torch.Tensor]) -> torch.Tensor:
    """``relu(cos(a, n) - cos(a, p) + margin)`` per triplet, shape (B,).

    Args:
        anchor, positive, negative: (B, E) embeddings (normalised or not).
        margin: a float, or (B,) margins (e.g. growing with frame distance).
    """
    pos = F.cosine_similarity(anchor, positive, dim=-1)
    neg = F.cosine_similarity(anchor, negative, dim=-1)
    return F.relu(neg - pos + margin)


def info_nce_loss(anchor: torch.Tensor, positive: torch.Tensor,
                  negative: torch.Tensor,
                  temperature: float) -> torch.Tensor:
    """InfoNCE per anchor, shape (B,): the cross-entropy of anchor ``i``
    picking its positive among all (B, E) embeddings of the batch but
    itself, scored by cosine similarity / ``temperature``."""
    batch = anchor.shape[0]
    a = F.normalize(anchor, dim=-1)
    candidates = F.normalize(torch.cat([anchor, positive, negative]), dim=-1)
    self_mask = torch.eye(batch, 3 * batch, dtype=torch.bool,
                          device=anchor.device)
    logits = (a @ candidates.t() / temperature).masked_fill(
        self_mask, float('-inf'))
    target = torch.arange(batch, device=anchor.device) + batch
    return F.cross_entropy(logits, target, reduction='none')


def point_matching_loss(pred_R: torch.Tensor,
                        gt_R: torch.Tensor,
                        points: torch.Tensor,
                        scale: Optional[torch.Tensor] = None,
                        symmetric: Optional[torch.Tensor] = None,
                        pred_t: Optional[torch.Tensor] = None,
                        gt_t: Optional[torch.Tensor] = None,
                        norm: str = 'l1') -> torch.Tensor:
    """Mean distance between model points under two poses, shape (N,).

    ``mean_i d(R^ x_i + t^, R x_i + t)``, ``d`` the L1 or L2 norm; with
    ``norm='l2'``, translations and no ``scale`` this is ADD. Symmetric
    samples compare each ground-truth point with its nearest predicted
    point (the ADD-S form).

    Args:
        pred_R, gt_R: (N, 3, 3).
        points: (N, P, 3) model points of each sample's object, mm.
        scale: (N,) divisor per sample (the diameter), or ``None``.
        symmetric: (N,) bool, use the nearest-point form.
        pred_t, gt_t: (N, 3) translations, mm, or ``None``.
        norm: ``'l1'`` or ``'l2'``.

    Raises:
        ValueError: an unknown ``norm``.
    """
    if norm not in ('l1', 'l2'):
        raise ValueError(f"norm must be 'l1' or 'l2', got {norm!r}")
    pred = points @ pred_R.transpose(-1, -2)
    gt = points @ gt_R.transpose(-1, -2)
    if pred_t is not None:
        pred = pred + pred_t[:, None]
    if gt_t is not None:
        gt = gt + gt_t[:, None]
    if symmetric is not None:  # computed for all: no host synchronisation
        with torch.no_grad():
            nearest = torch.cdist(gt, pred, p=1.0 if norm == 'l1' else 2.0)
            nearest = nearest.argmin(dim=-1)
        matched = pred.gather(1, nearest[..., None].expand_as(pred))
        pred = torch.where(symmetric[:, None, None], matched, pred)
    diff = pred - gt
    if norm == 'l1':
        dist = diff.abs().sum(-1)
    else:
        dist = torch.linalg.vector_norm(diff, dim=-1)
    loss = dist.mean(-1)
    if scale is not None:
        loss = loss / scale
    return loss


def geodesic_loss(pred_R: torch.Tensor,
                  gt_R: torch.Tensor,
                  eps: float = 1e-6) -> torch.Tensor:
    """Rotation angle (rad) between ``pred_R`` and ``gt_R``, shape (N,);
    the cosine is clipped to ``[-1 + eps, 1 - eps]`` so the gradient stays
    finite (``eps >= 1e-7`` in float32)."""
    return geodesic_distance(pred_R, gt_R, eps=eps)


@MODELS.register_module()
class PoseLoss(nn.Module):
    """Weighted pose losses, means over the posed frames (zeros without).

    * ``loss_pm``: :func:`point_matching_loss` (L1) of the rotations over
      the object's points, divided by its diameter.
    * ``loss_rot``: :func:`geodesic_loss`, symmetric objects left out.
    * ``loss_site``: L1 on ``(dx, dy, tz)`` weighted by ``site_weights``.

    Args:
        pm_weight, rot_weight, site_weight: loss weights.
        site_weights: weights of the ``dx``, ``dy``, ``tz`` terms.

    Raises:
        ValueError: not 3 ``site_weights``.
    """

    def __init__(self,
                 pm_weight: float = 1.0,
                 rot_weight: float = 1.0,
                 site_weight: float = 1.0,
                 site_weights: Sequence[float] = (1.0, 1.0, 1.0)) -> None:
        super().__init__()
        if len(site_weights) != 3:
            raise ValueError('PoseLoss: site_weights must be 3 numbers '
                             f'(dx, dy, tz), got {site_weights!r}')
        self.pm_weight = pm_weight
        self.rot_weight = rot_weight
        self.site_weight = site_weight
        self.register_buffer(
            'site_weights',
            torch.tensor(site_weights, dtype=torch.float32),
            persistent=False)

    def forward(self, R: torch.Tensor, gt_R: torch.Tensor,
                site: torch.Tensor, gt_site: torch.Tensor,
                points: torch.Tensor, diameters: torch.Tensor,
                symmetric: torch.Tensor,
                weight: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The loss dict from rotations (N, 3, 3), SITE values and targets
        (N, 3), each frame's object ``points`` (N, P, 3) mm, ``diameters``
        (N,), ``symmetric`` (N,) bool and ``weight`` (N,), 1 where posed."""
        count = weight.sum().clamp(min=1)

        def mean(values: torch.Tensor) -> torch.Tensor:
            return (values * weight).sum() / count

        pm = point_matching_loss(R, gt_R, points, scale=diameters,
                                 symmetric=symmetric)
        angles = geodesic_loss(R, gt_R)
        plain = weight * ~symmetric
        rot_loss = (angles * plain).sum() / plain.sum().clamp(min=1)
        site_loss = ((site - gt_site).abs() * self.site_weights).sum(-1)
        return dict(loss_pm=self.pm_weight * mean(pm),
                    loss_rot=self.rot_weight * rot_loss,
                    loss_site=self.site_weight * mean(site_loss))
