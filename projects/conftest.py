"""The core's test fixtures, for the projects' tests.

pytest offers a conftest's fixtures only below its folder, so the ones the
projects' tests use are imported here from ``tests/``.
"""
from tests.conftest import egl, synthetic_root  # noqa: F401
from tests.test_datasets.conftest import (  # noqa: F401
    bop_root,
    handmade_frames,
)
from tests.test_models.conftest import make_batch  # noqa: F401
