"""Necks projecting pooled backbone features to the embedding space."""
from typing import List, Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from posessl.registry import MODELS

__all__ = ['ProjectionNeck']


@MODELS.register_module()
class ProjectionNeck(BaseModule):
    """Linear projection, or an MLP, from (N, C) features to (N, E).

    Args:
        in_channels: ``C``; the model fills it in from its backbone.
        out_channels: ``E``.
        hidden_channels: ``None`` for one linear layer, else the width of
            ``Linear-BatchNorm-ReLU-Linear``.
        init_cfg: MMEngine init config.
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 out_channels: int = 128,
                 hidden_channels: Optional[int] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg)
        if in_channels is None:
            raise ValueError('ProjectionNeck needs in_channels (the model '
                             'fills it in from backbone.out_channels)')
        self.in_channels = in_channels
        self.out_channels = out_channels
        if hidden_channels is None:
            self.mlp = nn.Linear(in_channels, out_channels)
        else:
            self.mlp = nn.Sequential(
                nn.Linear(in_channels, hidden_channels, bias=False),
                nn.BatchNorm1d(hidden_channels), nn.ReLU(inplace=True),
                nn.Linear(hidden_channels, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C) -> (N, E), not normalised."""
        return self.mlp(x)
