"""Runner-side pieces: checkpoint safety, hooks and model wrappers."""
from . import checkpoint_safety  # noqa: F401
from .hooks import DatasetMetaHook
from .model_wrappers import DeviceAwareDistributedDataParallel

__all__ = ['DatasetMetaHook', 'DeviceAwareDistributedDataParallel']
