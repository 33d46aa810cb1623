"""Self-supervised relative-viewpoint pretraining on triplets of frames."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from posessl.registry import MODELS

from .utils import (
    build_on_backbone,
    pool_features,
    project,
    triplet_view_loss,
)

__all__ = ['ContrastivePretrainer', 'build_data_preprocessor']


def build_data_preprocessor(
        cfg: Optional[Union[dict, nn.Module]]) -> nn.Module:
    """``cfg`` built (``PoseDataPreprocessor`` when None), or the module
    itself."""
    if cfg is None:
        cfg = dict(type='posessl.PoseDataPreprocessor')
    if isinstance(cfg, nn.Module):
        return cfg
    return MODELS.build(cfg)


@MODELS.register_module()
class ContrastivePretrainer(BaseModel):
    """Backbone + projection neck + contrastive head.

    Training inputs are triplet batches (3B, C, H, W), anchors then
    positives then negatives, with the anchors' B data samples
    (``TripletDataset`` through ``PoseDataPreprocessor``). The checkpoint's
    ``backbone.*`` keys initialise a ``PoseRegressor``'s backbone
    (``init_cfg=dict(type='Pretrained', prefix='backbone.', ...)``).

    Args:
        backbone: backbone config (its output is pooled).
        neck: projection config; ``in_channels`` is filled in.
        head: contrastive head config.
        data_preprocessor: defaults to ``PoseDataPreprocessor``.
        init_cfg: MMEngine init config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(
            data_preprocessor=build_data_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = build_on_backbone(neck, self.backbone)
        self.head = MODELS.build(head)

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features (N, D)."""
        return pool_features(self.backbone(inputs))

    def embed(self, inputs: torch.Tensor) -> torch.Tensor:
        """L2-normalised embeddings (N, E), float32."""
        return project(self.neck, self.extract_feat(inputs))

    def _split(self, inputs: torch.Tensor,
               data_samples: Optional[Sequence]) -> int:
        """The number of triplets B; raises ValueError unless 3B inputs."""
        n = inputs.shape[0]
        batch = len(data_samples) if data_samples is not None else n // 3
        if n != 3 * batch or batch == 0:
            raise ValueError(
                f'ContrastivePretrainer.loss needs triplet batches: 3B images '
                f'for B data samples, got {n} images for '
                f'{len(data_samples) if data_samples is not None else "no"} '
                'samples (use TripletDataset with PoseDataPreprocessor)')
        return batch

    def loss(self, inputs: torch.Tensor,
             data_samples: Optional[Sequence] = None
             ) -> Dict[str, torch.Tensor]:
        """``loss``, ``pos_sim`` and ``neg_sim`` of a triplet batch."""
        self._split(inputs, data_samples)
        return triplet_view_loss(self.neck, self.head,
                                 self.extract_feat(inputs), data_samples)

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[Sequence] = None
                ) -> Union[torch.Tensor, Sequence]:
        """Embeddings (N, E) without data samples; else each sample gets
        ``pred_embedding`` (E,) of its image (its anchor for triplets)."""
        z = self.embed(inputs)
        if data_samples is None:
            return z
        if len(z) not in (len(data_samples), 3 * len(data_samples)):
            raise ValueError(f'{len(z)} images for {len(data_samples)} '
                             'data samples')
        for sample, z_i in zip(data_samples, z[:len(data_samples)]):
            sample.pred_embedding = z_i.detach()
        return data_samples

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[Sequence] = None,
                mode: str = 'tensor'
                ) -> Union[Dict[str, torch.Tensor], torch.Tensor, Sequence]:
        """``loss``, ``predict`` or ``tensor`` (the embeddings)."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.embed(inputs)
        raise ValueError(f'mode must be loss, predict or tensor, got {mode!r}')
