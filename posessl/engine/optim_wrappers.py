"""bfloat16 autocast for training on any device, the CPU included
(MMEngine's ``AmpOptimWrapper`` needs a GPU); bfloat16 needs no loss
scaling."""
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from posessl.registry import OPTIM_WRAPPERS

__all__ = ['BF16AutocastOptimWrapper', 'cpu_supports_bf16']


def cpu_supports_bf16() -> bool:
    """Whether this CPU runs bfloat16 natively (oneDNN's check); elsewhere
    autocast emulates it, slower than float32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@OPTIM_WRAPPERS.register_module()
class BF16AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` (the training forward and
    loss) runs under bfloat16 autocast on the parameters' device."""

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        param = next(model.parameters(), None)
        device_type = 'cpu' if param is None else param.device.type
        with super().optim_context(model), torch.autocast(
                device_type=device_type, dtype=torch.bfloat16):
            yield
