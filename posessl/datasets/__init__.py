"""LINEMOD datasets (BOP and DenseFusion layouts), triplets and transforms."""
from posessl.errors import DataError
from posessl.structures.bop_models import (
    CLASSIC_SYMMETRIC_OBJ_IDS,
    LINEMOD_OBJECTS,
    load_model_points,
)

from . import samplers, transforms  # noqa: F401
from .base import LinemodBaseDataset, evenly_spaced_positions
from .linemod_bop import LinemodBOPDataset
from .linemod_densefusion import LinemodDenseFusionDataset
from .sequences import SequenceIndex, TripletRule
from .triplet_dataset import TripletDataset

__all__ = [
    'LinemodBaseDataset', 'LinemodBOPDataset', 'LinemodDenseFusionDataset',
    'TripletDataset', 'DataError', 'LINEMOD_OBJECTS',
    'CLASSIC_SYMMETRIC_OBJ_IDS', 'load_model_points',
    'evenly_spaced_positions', 'SequenceIndex', 'TripletRule'
]
