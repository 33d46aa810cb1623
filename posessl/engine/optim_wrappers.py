"""bfloat16 autocast for training on any device, the CPU included.

MMEngine's ``AmpOptimWrapper`` refuses a machine without a GPU. bfloat16
keeps float32's exponent range, so it needs no loss scaling: autocast
around the forward pass is the whole of it, and that is all this wrapper
adds to ``OptimWrapper``. On a CPU with native bfloat16 (AVX512-BF16 or
AMX, :func:`cpu_supports_bf16`) a pose training step at 64 px took 0.65
times the float32 step (``python benchmarks/throughput.py --sizes 64
--threads 1``, the development machine's AMD EPYC). The heads compute their
outputs and losses in float32 either way.
"""
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
    """``OptimWrapper`` whose ``optim_context`` (the Runner's forward and
    loss) runs under ``torch.autocast(dtype=torch.bfloat16)`` on the device
    of the model's parameters. Validation and testing stay in float32."""

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        param = next(model.parameters(), None)
        device_type = 'cpu' if param is None else param.device.type
        with super().optim_context(model), torch.autocast(
                device_type=device_type, dtype=torch.bfloat16):
            yield
