"""Rotation utilities (torch, batched over leading dimensions)."""
import torch


def geodesic_distance(R1: torch.Tensor, R2: torch.Tensor,
                      eps: float = 0.0) -> torch.Tensor:
    """Angle in radians of the relative rotation ``R1^T R2``.

    ``arccos(clip((trace(R1^T R2) - 1) / 2, -1 + eps, 1 - eps))``; pass a small
    ``eps`` (e.g. 1e-6) when the result is differentiated, so the gradient
    stays finite at 0 and 180 degrees.
    """
    trace = (R1 * R2).sum(dim=(-2, -1))
    cos = ((trace - 1.0) / 2.0).clamp(-1.0 + eps, 1.0 - eps)
    return torch.acos(cos)
