"""tools/run_pipeline.py reuses a synthetic set only if it is the one it
would generate."""
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _pipeline():
    spec = importlib.util.spec_from_file_location(
        'run_pipeline', REPO / 'tools' / 'run_pipeline.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _info(tmp_path: Path, **changes) -> str:
    info = {'objects': {'1': 'a', '2': 'b', '3': 'c'},
            'splits': {'train': 300, 'test': 100}, 'seed': 0,
            'test_recording': 'same'}
    info.update(changes)  # a None value: the key is absent
    path = tmp_path / 'dataset_info.json'
    path.write_text(json.dumps(
        {k: v for k, v in info.items() if v is not None}))
    return str(path)


def test_the_set_it_would_generate_is_reused(tmp_path):
    pipeline = _pipeline()
    pipeline.check_reused_data(_info(tmp_path), pipeline.FULL, seed=0)


@pytest.mark.parametrize('changes, message', [
    # made before test_recording existed: an independent test recording
    (dict(test_recording=None), "test_recording 'new'"),
    (dict(splits={'train': 60, 'test': 16}), 'splits'),
    (dict(seed=3), 'seed 3'),
])
def test_another_set_stops_the_run_naming_the_file(tmp_path, changes,
                                                   message):
    pipeline = _pipeline()
    info = _info(tmp_path, **changes)
    with pytest.raises(SystemExit) as exc:
        pipeline.check_reused_data(info, pipeline.FULL, seed=0)
    assert info in str(exc.value) and message in str(exc.value)
    assert 'Delete its folder' in str(exc.value)
