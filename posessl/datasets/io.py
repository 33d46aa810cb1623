"""Annotation-file readers (they live in :mod:`posessl.structures.io`, the
ground floor that the evaluation uses too; re-exported here)."""
from posessl.structures.io import (
    DataError,
    int_keyed,
    read_frame_ids,
    read_json,
    read_yaml,
    require_file,
)

__all__ = ['DataError', 'read_json', 'read_yaml', 'read_frame_ids',
           'require_file', 'int_keyed']
