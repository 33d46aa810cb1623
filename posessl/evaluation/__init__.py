"""Pose evaluation: pure error functions, ``ADDMetric``, BOP results CSV.

``functional`` holds the maths (ADD, ADD-S, Proj2D, rotation / translation
errors, accuracies, AUC, 5cm5deg), ``scoring`` the per-object accuracies
and metric keys of collected results, ``reporting`` their table and CSV,
``metrics`` the registered :class:`ADDMetric`, ``bop_csv`` the BOP results
file, and ``retrieval`` the nearest-neighbour viewpoint measure of an
embedding space.
"""
from . import functional
from .bop_csv import (
    BOP_CSV_HEADER,
    BopCsvError,
    bop_result_filename,
    parse_bop_result_filename,
    read_bop_csv,
    write_bop_csv,
)
from .functional import (
    accuracy_at,
    accuracy_auc,
    add_error,
    adds_error,
    cm_deg_accuracy,
    pose_validity,
    proj2d_error,
    rotation_error,
    translation_error,
)
from .metrics import ADDMetric
from .retrieval import (
    camera_viewpoint,
    nearest_neighbour_indices,
    nearest_neighbour_rotation_error,
    random_pick_rotation_error,
    transfer_pose,
)

__all__ = [
    'functional', 'ADDMetric', 'BOP_CSV_HEADER', 'BopCsvError',
    'write_bop_csv', 'read_bop_csv', 'bop_result_filename',
    'parse_bop_result_filename', 'pose_validity', 'add_error', 'adds_error',
    'proj2d_error', 'rotation_error', 'translation_error', 'accuracy_at',
    'accuracy_auc', 'cm_deg_accuracy', 'nearest_neighbour_indices',
    'nearest_neighbour_rotation_error', 'random_pick_rotation_error',
    'camera_viewpoint', 'transfer_pose'
]
