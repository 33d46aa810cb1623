from .bop_time_hook import BopTimeHook
from .checkpoint_match_hook import CheckpointMatchHook
from .interrupt_hook import InterruptHook
from .log_test_metrics_hook import LogTestMetricsHook, scalar_metrics
from .non_finite_loss_hook import NonFiniteLossHook
from .pose_visualization_hook import PoseVisualizationHook, sample_name
from .skipped_samples_hook import SkippedSamplesHook

__all__ = [
    'BopTimeHook', 'CheckpointMatchHook', 'InterruptHook',
    'LogTestMetricsHook', 'NonFiniteLossHook', 'PoseVisualizationHook',
    'SkippedSamplesHook', 'sample_name', 'scalar_metrics'
]
