"""Loss functions owned by the posessl heads (pure functions, float32-safe).

Each returns per-sample values (callers weight, mask and average them), so
the tests can check them against hand-computed numbers.
"""
from typing import Optional, Union

import torch
import torch.nn.functional as F

from posessl.geometry import geodesic_distance

__all__ = [
    'triplet_cosine_loss', 'info_nce_loss', 'point_matching_loss',
    'geodesic_loss'
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
    """InfoNCE per anchor, shape (B,), over the whole batch.

    Anchor ``i`` scores every other embedding of the batch (the other anchors,
    all positives and all negatives; itself excluded) by cosine similarity
    divided by ``temperature``; the loss is the cross-entropy of picking its
    own positive ``p_i``.
    """
    batch = anchor.shape[0]
    a = F.normalize(anchor, dim=-1)
    candidates = F.normalize(torch.cat([anchor, positive, negative]), dim=-1)
    logits = a @ candidates.t() / temperature
    idx = torch.arange(batch, device=anchor.device)
    self_mask = torch.zeros_like(logits, dtype=torch.bool)
    self_mask[idx, idx] = True
    logits = logits.masked_fill(self_mask, float('-inf'))
    return F.cross_entropy(logits, idx + batch, reduction='none')


def point_matching_loss(pred_R: torch.Tensor,
                        gt_R: torch.Tensor,
                        points: torch.Tensor,
                        scale: Optional[torch.Tensor] = None,
                        symmetric: Optional[torch.Tensor] = None,
                        pred_t: Optional[torch.Tensor] = None,
                        gt_t: Optional[torch.Tensor] = None,
                        norm: str = 'l1') -> torch.Tensor:
    """Mean distance between model points under two poses, shape (N,).

    ``mean_i d(R^ x_i + t^, R x_i + t)`` with ``d`` the L1 (sum of absolute
    coordinate differences) or L2 (Euclidean) norm; translations are
    optional (the pose head leaves them out and learns ``t`` through SITE).
    With ``norm='l2'``, translations and no ``scale`` this is exactly ADD.
    For symmetric samples each ground-truth point is compared with its
    nearest predicted point instead (the ADD-S form), so a pose turned by
    the object's symmetry costs nothing.

    Args:
        pred_R, gt_R: (N, 3, 3).
        points: (N, P, 3) model points of each sample's object, mm.
        scale: (N,) divisor per sample (the diameter), or ``None``.
        symmetric: (N,) bool, use the nearest-point form.
        pred_t, gt_t: (N, 3) translations, mm, or ``None``.
        norm: ``'l1'`` or ``'l2'``.
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
    """Rotation angle (rad) between ``pred_R`` and ``gt_R``, shape (N,).

    The cosine is clipped to ``[-1 + eps, 1 - eps]`` so the gradient stays
    finite at 0 and 180 degrees (``eps`` >= 1e-7 in float32).
    """
    return geodesic_distance(pred_R, gt_R, eps=eps)
