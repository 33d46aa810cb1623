from .bop_time_hook import BopTimeHook
from .checkpoint_match_hook import CheckpointMatchHook
from .dataset_meta_hook import DatasetMetaHook
from .interrupt_hook import InterruptHook
from .non_finite_loss_hook import NonFiniteLossHook

__all__ = [
    'BopTimeHook', 'CheckpointMatchHook', 'DatasetMetaHook', 'InterruptHook',
    'NonFiniteLossHook'
]
