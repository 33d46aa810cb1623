"""A Runner built from a shipped config finds every component in the
posessl scope: no "Failed to search registry with scope" warning."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.runner import LogProcessor, Runner

from posessl.registry import LOG_PROCESSORS

REPO = Path(__file__).resolve().parents[2]


def test_log_processor_resolves_in_the_posessl_scope():
    assert LOG_PROCESSORS.parent is MMENGINE_LOG_PROCESSORS
    assert LOG_PROCESSORS.scope == 'posessl'
    built = LOG_PROCESSORS.build(dict(type='LogProcessor', window_size=3))
    assert type(built) is LogProcessor and built.window_size == 3


@pytest.mark.parametrize('config', [
    'configs/ssl/ssl_r18_1xb32-5e_synthetic.py',
    'configs/pose/pose_r18-ssl-ft_1xb32-600it_synthetic-10pct.py',
])
def test_runner_from_a_shipped_config_logs_no_scope_warning(
        tmp_path, capfd, config):
    cfg = Config.fromfile(str(REPO / config))
    cfg.work_dir = str(tmp_path)
    cfg.model.pop('objects', None)  # no data here: the model builds without
    Runner.from_cfg(cfg)
    # MMEngine prints the warning to the console, not into the run's log
    # file, so the test reads the process's output
    out, err = capfd.readouterr()
    assert 'Config:' in out + err  # the Runner's output was captured
    assert 'Failed to search registry' not in out + err
