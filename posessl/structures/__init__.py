from .object_table import ObjectTable
from .pose_data_sample import (
    TENSOR_FIELDS,
    PoseDataSample,
    sample_name,
    stack_field,
)

__all__ = [
    'PoseDataSample', 'TENSOR_FIELDS', 'stack_field', 'sample_name',
    'ObjectTable'
]
