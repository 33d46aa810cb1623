"""The real-mesh set: the shared sample's real LINEMOD models (ape, duck)
rendered over its real LINEMOD-Occluded photographs, as small as the
procedural ``synthetic_root`` (30 train + 10 test frames per object)."""
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LMO_SAMPLE = (REPO_ROOT / '..' / 'shared' / 'data' / 'lmo_sample').resolve()
LMO_MODELS = LMO_SAMPLE / 'models'
LMO_PHOTOS = LMO_SAMPLE / 'test' / '000002' / 'rgb'


@pytest.fixture(scope='session')
def lmo_models() -> Path:
    """The shared sample's BOP models folder, or skip."""
    if not (LMO_MODELS / 'models_info.json').is_file():
        pytest.skip(f'real LINEMOD-Occluded sample not found at '
                    f'{LMO_SAMPLE}')
    return LMO_MODELS


@pytest.fixture(scope='session')
def realmesh_root(tmp_path_factory: pytest.TempPathFactory,
                  lmo_models: Path, synthetic_root: Path) -> Path:
    """A tiny real-mesh set (asks for ``synthetic_root`` first, so a machine
    without EGL skips both with the renderer's reason)."""
    from posessl.synthetic import generate_synthetic_linemod

    out = tmp_path_factory.mktemp('realmesh')
    return Path(generate_synthetic_linemod(
        out, models_dir=str(lmo_models), backgrounds_dir=str(LMO_PHOTOS),
        train_frames=30, test_frames=10, depth=True, progress=False))


@pytest.fixture(params=['procedural', 'realmesh'])
def generated_root(request: pytest.FixtureRequest) -> Path:
    """Each generated set in turn: the procedural default and the real-mesh
    one."""
    name = 'synthetic_root' if request.param == 'procedural' \
        else 'realmesh_root'
    return request.getfixturevalue(name)
