"""Helpers to run the command-line tools the way users run them."""
import glob
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
from types import ModuleType
from typing import List

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FIXTURES = osp.join(REPO, 'tests', 'fixtures')
TOY_CONFIG = osp.join(FIXTURES, 'configs', 'toy_regression.py')


def load_tool(relpath: str) -> ModuleType:
    """Import a script under the repo (e.g. ``tools/pseudo_label.py``) as a
    module, to call its functions in-process."""
    name = osp.splitext(osp.basename(relpath))[0]
    spec = importlib.util.spec_from_file_location(name,
                                                  osp.join(REPO, relpath))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(args: List[str], check: bool = True,
             timeout: int = 300,
             cwd: str = REPO) -> subprocess.CompletedProcess:
    """Run ``python <args>`` from the repo root (or ``cwd``) with the toy
    fixtures on the path; single-threaded so parallel runs do not fight
    over 2 cores."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [FIXTURES, REPO, env.get('PYTHONPATH', '')])
    env['OMP_NUM_THREADS'] = '1'
    proc = subprocess.run([sys.executable] + args,
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc


def last_test_metrics(work_dir: str) -> dict:
    """The metrics the LoggerHook dumped for the most recent test run."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.json')))
    assert logs, f'no json log under {work_dir}'
    with open(logs[-1]) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    return lines[-1]
