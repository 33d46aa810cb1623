"""Fixtures of the data tests: hand-made datasets in both layouts."""
from pathlib import Path

import pytest

from . import builders

#: Frames per object sequence of the hand-made set.
NUM_FRAMES = 24
#: DenseFusion ``train.txt`` frames of the hand-made set.
TRAIN_IDS = {1: list(range(0, NUM_FRAMES, 3)), 2: list(range(1, NUM_FRAMES,
                                                             4))}


@pytest.fixture(scope='session')
def handmade_frames() -> dict:
    """``{obj_id: [frame, ...]}`` for objects 1 and 2."""
    return builders.make_frames([1, 2], NUM_FRAMES)


@pytest.fixture(scope='session')
def bop_root(tmp_path_factory, handmade_frames) -> Path:
    """The hand-made set in the BOP layout (split ``train``)."""
    root = tmp_path_factory.mktemp('handmade_bop')
    return builders.write_bop(root, handmade_frames, symmetric=[2])


@pytest.fixture(scope='session')
def df_root(tmp_path_factory, handmade_frames) -> Path:
    """The same frames in DenseFusion's layout."""
    root = tmp_path_factory.mktemp('handmade_df')
    return builders.write_densefusion(root, handmade_frames, TRAIN_IDS)
