from .checkpoint_match_hook import CheckpointMatchHook
from .dataset_meta_hook import DatasetMetaHook
from .interrupt_hook import InterruptHook
from .non_finite_loss_hook import NonFiniteLossHook

__all__ = [
    'CheckpointMatchHook', 'DatasetMetaHook', 'InterruptHook',
    'NonFiniteLossHook'
]
