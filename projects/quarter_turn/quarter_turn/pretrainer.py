"""Relative-viewpoint pretraining plus the quarter-turn pretext."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn

from posessl.models import ContrastivePretrainer
from posessl.models.utils import build_on_backbone, triplet_view_loss
from posessl.registry import MODELS

from .heads import quarter_turns

__all__ = ['QuarterTurnPretrainer']


@MODELS.register_module()
class QuarterTurnPretrainer(ContrastivePretrainer):
    """``ContrastivePretrainer`` whose backbone also names the quarter turn
    each anchor crop was given.

    Each anchor ``i`` of a triplet batch is also turned by ``i % 4`` quarter
    turns (:func:`.heads.quarter_turns`) and the ``turn_head`` names the
    turn from its pooled backbone features. The turned anchors go through
    the backbone in the same call as the triplets (4B images), so they
    share its BatchNorm batch. Embeddings, ``predict`` and the checkpoint's
    ``backbone.*`` keys are the plain pretrainer's, so a pose model loads
    the backbone the same way.

    Args:
        backbone: backbone config.
        neck: projection config; ``in_channels`` is filled in.
        head: contrastive head config.
        turn_head: the in-plane pretext head (``QuarterTurnHead``;
            ``in_channels`` is filled in where left out or None).
        data_preprocessor: defaults to ``PoseDataPreprocessor``.
        init_cfg: MMEngine init config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 turn_head: dict,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(backbone, neck, head,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.turn_head = build_on_backbone(turn_head, self.backbone)

    def loss(self, inputs: torch.Tensor,
             data_samples: Optional[Sequence] = None
             ) -> Dict[str, torch.Tensor]:
        """``loss_view`` (the contrastive loss), ``pos_sim``, ``neg_sim``,
        ``loss_turn`` and ``turn_acc`` of a triplet batch; MMEngine sums
        the two losses into the logged ``loss``."""
        batch = self._split(inputs, data_samples)
        turned, turns = quarter_turns(inputs[:batch])
        feats = self.extract_feat(torch.cat([inputs, turned]))
        losses = triplet_view_loss(self.neck, self.head, feats[:3 * batch],
                                   data_samples)
        # 'loss' is the sum MMEngine logs; the parts get their own names.
        losses['loss_view'] = losses.pop('loss')
        losses.update(self.turn_head.loss(feats[3 * batch:], turns))
        return losses
