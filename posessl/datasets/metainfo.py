"""Object names, model points and diameters (they live in
:mod:`posessl.structures.bop_models`, the ground floor that the evaluation
uses too; re-exported here)."""
from posessl.structures.bop_models import (
    CLASSIC_SYMMETRIC_OBJ_IDS,
    LINEMOD_OBJECTS,
    check_diameter,
    load_model_points,
    model_file,
    object_names,
    points_diameter,
)

__all__ = [
    'LINEMOD_OBJECTS', 'CLASSIC_SYMMETRIC_OBJ_IDS', 'object_names',
    'load_model_points', 'check_diameter', 'points_diameter', 'model_file'
]
