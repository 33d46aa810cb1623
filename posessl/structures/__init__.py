from .object_table import ObjectTable, build_object_table
from .pose_data_sample import (
    TENSOR_FIELDS,
    PoseDataSample,
    sample_name,
    stack_field,
)

__all__ = [
    'PoseDataSample', 'TENSOR_FIELDS', 'stack_field', 'sample_name',
    'ObjectTable', 'build_object_table'
]
