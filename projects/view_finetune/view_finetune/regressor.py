"""``PoseRegressor`` plus the relative-viewpoint loss on triplet batches."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn

from posessl.models import PoseRegressor
from posessl.models.regressor import Objects
from posessl.models.utils import build_on_backbone, triplet_view_loss
from posessl.registry import MODELS

__all__ = ['SemiSupervisedPoseRegressor']


@MODELS.register_module()
class SemiSupervisedPoseRegressor(PoseRegressor):
    """A ``PoseRegressor`` that also trains the relative-viewpoint loss.

    A triplet batch ((3B, C, H, W): anchors, positives, negatives; B data
    samples, the anchors') goes through the backbone once: the pose losses
    take the anchors' features (only labelled anchors count), the
    projection ``neck`` and contrastive ``view_head`` every triplet
    (``loss_view``, weighted by the head's ``loss_weight``; ``pos_sim``,
    ``neg_sim``). A batch of B single images gets the pose losses alone;
    ``predict`` and the pose part of the checkpoint are ``PoseRegressor``'s.

    Args:
        backbone, head, freeze_backbone, refiner, data_preprocessor,
            init_cfg, objects: as ``PoseRegressor``.
        neck: projection config (``ProjectionNeck``; ``in_channels`` is
            filled in); start it from the pretraining checkpoint with
            ``init_cfg=dict(type='Pretrained', checkpoint=...,
            prefix='neck.')``.
        view_head: contrastive head config (``CosineContrastiveHead``).
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: dict,
                 view_head: dict,
                 freeze_backbone: bool = False,
                 refiner: Optional[dict] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 objects: Optional[Objects] = None) -> None:
        super().__init__(backbone, head, freeze_backbone=freeze_backbone,
                         refiner=refiner,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg, objects=objects)
        self.neck = build_on_backbone(neck, self.backbone)
        self.view_head = MODELS.build(view_head)

    def loss(self, inputs: torch.Tensor,
             data_samples: Sequence) -> Dict[str, torch.Tensor]:
        """Pose losses of the labelled anchors plus ``loss_view`` of the
        triplets; a batch of single images gets the pose losses only."""
        batch = len(data_samples)
        if inputs.shape[0] == batch:
            return super().loss(inputs, data_samples)
        if batch == 0 or inputs.shape[0] != 3 * batch:
            raise ValueError(
                f'SemiSupervisedPoseRegressor.loss needs single images or '
                f'triplets: B or 3B images for B data samples, got '
                f'{inputs.shape[0]} images for {batch} samples')
        feats = self.extract_feat(inputs)
        losses = self.head.loss(feats[:batch], data_samples,
                                inputs.shape[-2:])
        view = triplet_view_loss(self.neck, self.view_head, feats,
                                 data_samples)
        losses['loss_view'] = view.pop('loss')
        losses.update(view)
        return losses
