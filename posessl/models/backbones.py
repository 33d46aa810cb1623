"""torchvision ResNet and VGG backbones returning pooled (N, C) features.

Swap one for another with one config line (C in the comment)::

    backbone=dict(type='TorchvisionResNet', depth=18)        # 512
    backbone=dict(type='TorchvisionResNet', depth=34)        # 512
    backbone=dict(type='TorchvisionResNet', depth=50)        # 2048
    backbone=dict(type='TorchvisionVGG', depth=11, with_bn=True)   # 512
    backbone=dict(type='TorchvisionVGG', depth=16, with_bn=True)   # 512

Submodules keep torchvision's names, so a torchvision state dict loads as
it is (and a posessl checkpoint with ``prefix='backbone.'``)::

    init_cfg=dict(type='Pretrained', checkpoint='/path/resnet18.pth')

Nothing is downloaded: ``weights`` must stay ``None``.
"""
from typing import Any, List, Optional, Union

import torch
import torch.nn as nn
import torchvision
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from posessl.registry import MODELS

__all__ = ['TorchvisionResNet', 'TorchvisionVGG']


class _TorchvisionBackbone(BaseModule):
    """Freezing, ``norm_eval`` and pooling of the torchvision nets.

    Args:
        weights: Must be ``None`` (give a local file through ``init_cfg``).
        frozen_stages: Stages kept frozen (see the subclass).
        norm_eval: Keep every BatchNorm in eval mode while training.
        init_cfg: MMEngine init config, e.g. ``Pretrained``.
    """

    out_channels: int

    def __init__(self, weights: Any, frozen_stages: int, norm_eval: bool,
                 init_cfg: Optional[Union[dict, List[dict]]]) -> None:
        super().__init__(init_cfg)
        if weights is not None:
            raise ValueError(
                f'{type(self).__name__}(weights={weights!r}) would download '
                'weights; posessl never downloads at run time. Leave '
                "weights=None and give a local file: init_cfg=dict(type="
                "'Pretrained', checkpoint='/path/to/torchvision_state_dict"
                ".pth').")
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.pool = nn.AdaptiveAvgPool2d(1)

    def stages(self) -> List[nn.Module]:
        """Modules in freezing order."""
        raise NotImplementedError

    def num_frozen(self) -> int:
        """How many of :meth:`stages` ``frozen_stages`` freezes."""
        return max(self.frozen_stages, 0)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The last feature map (N, C, h, w)."""
        raise NotImplementedError

    def _freeze_stages(self, largest: Optional[int] = None) -> None:
        """Freeze the first :meth:`num_frozen` stages (checking
        ``frozen_stages <= largest`` first where given)."""
        if largest is not None and not -1 <= self.frozen_stages <= largest:
            raise ValueError(f'{type(self).__name__}: frozen_stages must be '
                             f'in [-1, {largest}], got {self.frozen_stages}')
        for stage in self.stages()[:self.num_frozen()]:
            stage.eval()
            for param in stage.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> '_TorchvisionBackbone':
        """Set the mode; frozen stages (and BN with ``norm_eval``) stay in
        eval mode so their running statistics never change."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (N, C)."""
        return self.pool(self.feature_map(x)).flatten(1)


@MODELS.register_module()
class TorchvisionResNet(_TorchvisionBackbone):
    """torchvision ResNet-18/34/50 without its classifier.

    Args:
        depth: 18, 34 or 50.
        frozen_stages: -1 freezes nothing, 0 the stem (``conv1``, ``bn1``),
            ``k`` the stem and ``layer1`` .. ``layer{k}``.
        weights, norm_eval, init_cfg: See :class:`_TorchvisionBackbone`.
    """

    arch = {
        18: (torchvision.models.resnet18, 512),
        34: (torchvision.models.resnet34, 512),
        50: (torchvision.models.resnet50, 2048),
    }

    def __init__(self,
                 depth: int = 18,
                 weights: Any = None,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(weights, frozen_stages, norm_eval, init_cfg)
        if depth not in self.arch:
            raise ValueError(f'TorchvisionResNet: depth must be one of '
                             f'{sorted(self.arch)}, got {depth}')
        builder, self.out_channels = self.arch[depth]
        net = builder(weights=None)
        self.depth = depth
        self.conv1, self.bn1, self.relu = net.conv1, net.bn1, net.relu
        self.maxpool = net.maxpool
        self.layer1, self.layer2 = net.layer1, net.layer2
        self.layer3, self.layer4 = net.layer3, net.layer4
        self._freeze_stages(largest=4)

    def num_frozen(self) -> int:
        """The stem counts as stage 0."""
        return self.frozen_stages + 1 if self.frozen_stages >= 0 else 0

    def stages(self) -> List[nn.Module]:
        """Stem, then ``layer1`` .. ``layer4``."""
        return [nn.ModuleList([self.conv1, self.bn1]), self.layer1,
                self.layer2, self.layer3, self.layer4]

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """``layer4`` output, stride 32."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


@MODELS.register_module()
class TorchvisionVGG(_TorchvisionBackbone):
    """torchvision VGG-11/13/16/19 (``features`` only), 512 channels.

    Args:
        depth: 11, 13, 16 or 19.
        with_bn: The ``_bn`` variant (BatchNorm after every convolution).
        frozen_stages: -1 or 0 freeze nothing, ``k`` the first ``k`` of the
            five convolution blocks (each ends with its max-pool).
        weights, norm_eval, init_cfg: See :class:`_TorchvisionBackbone`.
    """

    out_channels = 512

    def __init__(self,
                 depth: int = 16,
                 with_bn: bool = True,
                 weights: Any = None,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(weights, frozen_stages, norm_eval, init_cfg)
        if depth not in (11, 13, 16, 19):
            raise ValueError('TorchvisionVGG: depth must be one of '
                             f'[11, 13, 16, 19], got {depth}')
        name = f'vgg{depth}_bn' if with_bn else f'vgg{depth}'
        self.depth, self.with_bn = depth, with_bn
        net = getattr(torchvision.models, name)(weights=None)
        self.features = net.features
        self._freeze_stages(largest=5)

    def stages(self) -> List[nn.Module]:
        """The five blocks of ``features``, each ending with a max-pool."""
        blocks, start = [], 0
        for i, layer in enumerate(self.features):
            if isinstance(layer, nn.MaxPool2d):
                blocks.append(nn.ModuleList(self.features[start:i + 1]))
                start = i + 1
        return blocks

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """Output of the last max-pool, stride 32."""
        return self.features(x)
