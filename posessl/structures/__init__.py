from .object_table import ObjectTable, build_object_table
from .pose_data_sample import TENSOR_FIELDS, PoseDataSample, stack_field

__all__ = [
    'PoseDataSample', 'TENSOR_FIELDS', 'stack_field', 'ObjectTable',
    'build_object_table'
]
