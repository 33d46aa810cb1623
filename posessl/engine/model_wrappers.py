"""A DistributedDataParallel wrapper that also runs on the CPU (gloo)."""
from typing import Any

from mmengine.model import MMDistributedDataParallel

from posessl.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class DeviceAwareDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that drops ``device_ids`` on the CPU.

    MMEngine's ``Runner.wrap_model`` always passes
    ``device_ids=[LOCAL_RANK]``, which torch refuses for a CPU module; this
    wrapper keeps them for CUDA modules and drops them otherwise, so the same
    config trains under ``torchrun`` with NCCL on GPUs and gloo on CPUs.
    """

    def __init__(self, module: Any, **kwargs: Any) -> None:
        on_cuda = any(p.is_cuda for p in module.parameters())
        if not on_cuda:
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        super().__init__(module=module, **kwargs)
