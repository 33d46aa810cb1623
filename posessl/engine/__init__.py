"""Runner-side pieces: checkpoint safety, hooks and model wrappers."""
from posessl.errors import TrainingStopped

from .checkpoint_safety import (
    CheckpointError,
    check_checkpoint_fits,
    enable_checkpoint_safety,
    last_good_checkpoint,
    load_checkpoint_file,
)
from .hooks import (
    BopTimeHook,
    CheckpointMatchHook,
    InterruptHook,
    LogTestMetricsHook,
    NonFiniteLossHook,
    PoseVisualizationHook,
    SkippedSamplesHook,
)
from .model_wrappers import DeviceAwareDistributedDataParallel
from .optim_wrappers import BF16AutocastOptimWrapper, cpu_supports_bf16

__all__ = [
    'BF16AutocastOptimWrapper', 'BopTimeHook', 'CheckpointError',
    'CheckpointMatchHook', 'DeviceAwareDistributedDataParallel',
    'InterruptHook', 'LogTestMetricsHook', 'NonFiniteLossHook',
    'PoseVisualizationHook', 'SkippedSamplesHook', 'TrainingStopped',
    'check_checkpoint_fits', 'cpu_supports_bf16', 'enable_checkpoint_safety',
    'last_good_checkpoint', 'load_checkpoint_file'
]
