"""Shared pytest fixtures: a tiny synthetic LINEMOD set and the real sample.

``synthetic_root`` generates one tiny set per test session (3 objects: two
asymmetric and one symmetric; 30 train and 10 test frames each; 640 x 480;
BOP and DenseFusion layouts; no depth) and returns its root folder, or
skips the test with the renderer's reason where no EGL context can be made.
``lmo_sample_root`` returns the real LINEMOD-Occluded sample next to the
repository, or skips the test where it is absent; ``lmo_real_root`` the
same for the hundred real frames with masks (the real-photo benchmark).

``python -m pytest tests`` (what CI runs) also collects every project's
tests, ``projects/<name>/tests`` (see :func:`with_projects`).
"""
from pathlib import Path
from typing import List, Sequence

import pytest

from posessl.engine import enable_checkpoint_safety

# the tests load checkpoints the way the tools do
enable_checkpoint_safety()

REPO_ROOT = Path(__file__).resolve().parents[1]
TESTS = REPO_ROOT / 'tests'
PROJECTS = REPO_ROOT / 'projects'
LMO_SAMPLE = REPO_ROOT / '..' / 'shared' / 'data' / 'lmo_sample'
LMO_REAL = REPO_ROOT / '..' / 'shared' / 'data' / 'lmo_real'

#: Settings of the session's tiny synthetic set (tests may read them).
SYNTHETIC_TINY = dict(num_objects=3, train_frames=30, test_frames=10,
                      width=640, height=480, seed=0, depth=False,
                      densefusion=True)


def with_projects(args: Sequence[str], invocation_dir: Path) -> List[str]:
    """pytest's path arguments, plus ``projects/`` where they name the
    whole ``tests`` folder and nothing under ``projects/``.

    A project keeps its tests next to its code (``projects/<name>/tests``),
    and ``python -m pytest tests`` (CI; a bare ``python -m pytest`` too,
    whose ``testpaths`` is ``tests``) runs them with the core's. A narrower
    run (a file, a sub-folder) stays as narrow.
    """
    paths = [(invocation_dir / arg.split('::')[0]).resolve() for arg in args]
    if TESTS not in paths or any(path == PROJECTS or PROJECTS in path.parents
                                 for path in paths):
        return list(args)
    return [*args, str(PROJECTS)]


def pytest_configure(config: pytest.Config) -> None:
    """Collect the projects' tests in a run of the whole ``tests`` folder."""
    config.args[:] = with_projects(config.args, config.invocation_params.dir)


@pytest.fixture(scope='session')
def egl() -> None:
    """Skip with the renderer's one-line reason where no headless EGL
    context can be made (every test that renders asks for this)."""
    from posessl.rendering import create_context

    try:
        create_context().release()
    except RuntimeError as err:
        pytest.skip(str(err))


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory: pytest.TempPathFactory,
                   egl: None) -> Path:
    """Root of a tiny synthetic LINEMOD set, generated once per session."""
    from posessl.synthetic import generate_synthetic_linemod

    out_dir = tmp_path_factory.mktemp('synthetic_linemod')
    root = generate_synthetic_linemod(out_dir, progress=False,
                                      **SYNTHETIC_TINY)
    return Path(root)


@pytest.fixture(scope='session')
def lmo_sample_root() -> Path:
    """The real LINEMOD-Occluded sample (BOP layout), or skip."""
    root = LMO_SAMPLE.resolve()
    if not (root / 'camera.json').is_file():
        pytest.skip(f'real LINEMOD-Occluded sample not found at {root}')
    return root


@pytest.fixture(scope='session')
def lmo_real_root() -> Path:
    """The hundred real LINEMOD-Occluded frames with masks, or skip."""
    root = LMO_REAL.resolve()
    if not (root / 'test' / '000002' / 'mask').is_dir():
        pytest.skip(f'real LINEMOD-Occluded frames with masks not found at '
                    f'{root}')
    return root
