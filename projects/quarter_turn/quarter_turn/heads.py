"""The in-plane pretext: quarter turns of the anchor crops and the head that
names them (Gidaris et al.'s rotation prediction).

The head computes its logits and loss in float32 with autocast switched
off, like posessl's heads.
"""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from posessl.models.utils import no_autocast
from posessl.registry import MODELS

__all__ = ['QuarterTurnHead', 'quarter_turns']


def quarter_turns(images: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Turn image ``i`` of (B, C, H, W) square ``images`` by ``i % 4``
    quarter turns (counter-clockwise as displayed, ``torch.rot90`` on the
    last two dims) and return the turned images, grouped by turn (all
    ``k = 0`` first, then 1, 2, 3), and their turn labels (B,) int64.

    The pattern is fixed, so nothing is drawn and nothing syncs with the
    host; the batches' order is the sampler's, already random. A quarter
    turn of a square crop about its centre pixel is exact (no resampling,
    no border).
    """
    if images.dim() != 4 or images.shape[-1] != images.shape[-2]:
        raise ValueError('quarter_turns needs square (B, C, H, W) images, '
                         f'got {tuple(images.shape)}')
    turned, labels = [], []
    for k in range(4):
        part = images[k::4]
        turned.append(torch.rot90(part, k, dims=(-2, -1)))
        labels.append(torch.full((part.shape[0], ), k, dtype=torch.long,
                                 device=images.device))
    return torch.cat(turned), torch.cat(labels)


@MODELS.register_module()
class QuarterTurnHead(BaseModule):
    """Which quarter turn (0, 90, 180 or 270 deg) a crop was given, from its
    pooled backbone features: an in-plane pretext signal (Gidaris et al.'s
    rotation prediction) beside the relative-viewpoint loss.

    One linear layer ``in_channels -> 4``; ``loss`` returns ``loss_turn``
    (cross-entropy times ``loss_weight``) and the logged ``turn_acc`` (share
    of turns recognised, in [0, 1]).
    """

    def __init__(self,
                 in_channels: int = 512,
                 loss_weight: float = 1.0,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg)
        self.fc = nn.Linear(in_channels, 4)
        self.loss_weight = loss_weight

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """Turn logits (N, 4) from pooled features (N, in_channels), in
        float32 even under autocast, like the pose heads' outputs."""
        with no_autocast(feats.device):
            return self.fc(feats.float())

    def loss(self, feats: torch.Tensor,
             turns: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Loss dict from pooled features (N, C) and their turns (N,)."""
        logits = self(feats)
        with no_autocast(feats.device):
            loss = nn.functional.cross_entropy(logits, turns)
            with torch.no_grad():
                acc = (logits.argmax(dim=1) == turns).float().mean()
        return dict(loss_turn=self.loss_weight * loss, turn_acc=acc)
