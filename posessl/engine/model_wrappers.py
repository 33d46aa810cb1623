"""A DistributedDataParallel wrapper that also runs on the CPU (gloo)."""
from typing import Any

from mmengine.model import MMDistributedDataParallel

from posessl.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class DeviceAwareDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that drops ``device_ids`` (which
    ``Runner.wrap_model`` always passes) for a CPU module, so one config
    trains under ``torchrun`` with NCCL on GPUs and gloo on CPUs."""

    def __init__(self, module: Any, **kwargs: Any) -> None:
        if not any(p.is_cuda for p in module.parameters()):
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        super().__init__(module=module, **kwargs)
