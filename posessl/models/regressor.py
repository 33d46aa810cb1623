"""The pose model: a backbone and a pose head."""
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from posessl.registry import MODELS
from posessl.structures import ObjectTable, build_object_table

from .pretrainer import build_data_preprocessor
from .utils import build_on_backbone, pool_features

__all__ = ['PoseRegressor']

#: What ``objects=`` takes (:func:`~posessl.structures.build_object_table`).
Objects = Union[ObjectTable, Mapping[str, Any]]


@MODELS.register_module()
class PoseRegressor(BaseModel):
    """Regress ``R`` and ``t`` of the object in each crop.

    Args:
        backbone: Backbone config (a posessl torchvision backbone, or an
            mmpretrain one: its last feature map is pooled).
        head: Pose head config (a head with ``set_objects`` / ``loss`` /
            ``predict``, e.g. ``PoseRegressionHead``); ``in_channels`` is
            filled in.
        freeze_backbone: Linear probe: no gradients to the backbone, which
            stays in eval mode (BatchNorm statistics included) even after
            ``train()``.
        refiner: Optional test-time refinement of the head's poses in
            ``predict`` (e.g. ``SilhouetteDepthRefiner``); its
            ``models_dir`` defaults to the objects' folder.
        data_preprocessor: Defaults to ``PoseDataPreprocessor``.
        init_cfg: MMEngine init config.
        objects: The objects, given to the head at build, in any form
            :func:`~posessl.structures.build_object_table` takes (usually
            ``dict(models_dir=<BOP models folder>)``). Without them
            ``loss`` and ``predict`` raise ``ValueError``.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 freeze_backbone: bool = False,
                 refiner: Optional[dict] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 objects: Optional[Objects] = None) -> None:
        super().__init__(
            data_preprocessor=build_data_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.head = build_on_backbone(head, self.backbone)
        self.freeze_backbone = freeze_backbone
        self.objects = None if objects is None else build_object_table(
            objects, 'PoseRegressor objects')
        if self.objects is not None:
            self.head.set_objects(self.objects)
        self.refiner = None  # not a module: nothing in the checkpoint
        if refiner is not None:
            folder = getattr(self.objects, 'models_dir', None)
            self.refiner = MODELS.build(
                refiner, default_args=dict(models_dir=folder)
                if folder else None)
        if freeze_backbone:
            for param in self.backbone.parameters():
                param.requires_grad = False
            self.backbone.eval()

    def train(self, mode: bool = True) -> 'PoseRegressor':
        """Set the mode; a frozen backbone always stays in eval mode."""
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        return self

    def _check_objects(self) -> None:
        if self.objects is None:
            raise ValueError(
                f'{type(self).__name__} has no objects: build it with '
                'objects=dict(models_dir=<BOP models folder>) (a config\'s '
                'model.objects)')

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features (N, D); no graph when frozen."""
        with torch.set_grad_enabled(torch.is_grad_enabled()
                                    and not self.freeze_backbone):
            return pool_features(self.backbone(inputs))

    def loss(self, inputs: torch.Tensor,
             data_samples: Sequence) -> Dict[str, torch.Tensor]:
        """The head's pose losses on the labelled frames of the batch."""
        self._check_objects()
        return self.head.loss(
            self.extract_feat(inputs), data_samples, inputs.shape[-2:])

    def predict(self, inputs: torch.Tensor,
                data_samples: Sequence) -> Sequence:
        """Data samples with ``pred_R`` and ``pred_t`` (mm, camera frame),
        refined by the ``refiner`` where there is one."""
        self._check_objects()
        samples = self.head.predict(
            self.extract_feat(inputs), data_samples, inputs.shape[-2:])
        return samples if self.refiner is None else self.refiner(samples)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[Sequence] = None,
                mode: str = 'tensor'
                ) -> Union[Dict[str, torch.Tensor], Sequence,
                           Tuple[torch.Tensor, torch.Tensor]]:
        """``loss``, ``predict``, or ``tensor``: the raw head outputs
        (``PoseRegressionHead``: rotation (N, 6 or 4) and SITE (N, 3))."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs))
        raise ValueError(f'mode must be loss, predict or tensor, got {mode!r}')
