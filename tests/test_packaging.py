"""The wheel: it carries the configs and tools, its console commands run a
config by name from an empty folder of a fresh environment, and installing
it keeps an environment's own torch and full mmcv.

Nothing is downloaded: the wheel is built without build isolation, the
fresh environment reuses this one's packages (torch included) through a
``.pth`` file, and the environment with "another torch" holds stand-ins
(installed metadata of that name and version, no code).
"""
import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import List

import pytest

REPO = Path(__file__).resolve().parents[1]
#: What a build reads from the checkout.
SOURCES = ('setup.py', 'pyproject.toml', 'MANIFEST.in', 'README.md',
           'constraints.txt', 'posessl', 'configs', 'tools')
CONFIG = 'pose_r18-scratch_1xb32-600it_synthetic-10pct'


def _run(cmd: List[str], cwd: Path, timeout: int = 300,
         check: bool = True) -> subprocess.CompletedProcess:
    """Run ``cmd`` without this checkout on the path (single-threaded)."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(OMP_NUM_THREADS='1', PIP_NO_INPUT='1')
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{cmd} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc


@pytest.fixture(scope='module')
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """posessl's wheel, built offline from a copy of the checkout."""
    tmp = tmp_path_factory.mktemp('wheel')
    source = tmp / 'source'
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns(
                '__pycache__', '*.pyc', '.mim'))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy(path, source / name)
    _run([sys.executable, '-m', 'pip', 'wheel', source, '--no-deps',
          '--no-build-isolation', '--no-index', '-w', tmp / 'dist'], tmp)
    [built] = (tmp / 'dist').glob('posessl-*.whl')
    return built


def _site_packages(venv: Path) -> Path:
    [site] = venv.glob('lib/python3*/site-packages')
    return site


def test_the_wheel_carries_the_configs_and_tools(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        f'posessl/.mim/{p.relative_to(REPO).as_posix()}'
        for folder in ('configs', 'tools') for p in (REPO / folder).rglob('*')
        if p.is_file() and '__pycache__' not in p.parts}
    assert shipped <= names
    assert not [n for n in names if n.startswith(('configs/', 'tools/'))]
    [entry_points] = [n for n in names if n.endswith('entry_points.txt')]
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    for command in ('posessl', 'posessl-train', 'posessl-test',
                    'posessl-infer', 'posessl-make-data', 'posessl-pipeline'):
        assert f'{command} = posessl.launcher:' in scripts


def test_a_fresh_environment_runs_a_config_by_name_from_an_empty_folder(
        wheel, tmp_path, egl):
    venv = tmp_path / 'venv'
    _run([sys.executable, '-m', 'venv', '--without-pip', venv], tmp_path)
    # this environment's packages (torch, mmengine, mmcv, pip), none of its
    # .pth files: the checkout's editable posessl stays out
    site = _site_packages(venv)
    (site / 'reuse_packages.pth').write_text(
        sysconfig.get_paths()['purelib'] + '\n')
    python, bin_dir = venv / 'bin' / 'python', venv / 'bin'
    # --force-reinstall: the editable posessl is seen as installed (outside
    # the new environment, where pip leaves it)
    _run([python, '-m', 'pip', 'install', '--no-deps', '--no-index',
          '--force-reinstall', wheel], tmp_path)
    work = tmp_path / 'empty'
    work.mkdir()
    # the config by name: the copy inside the installed package
    listed = _run([bin_dir / 'posessl', 'configs', CONFIG], work).stdout
    installed = site / 'posessl' / '.mim' / 'configs' / 'pose' / (
        CONFIG + '.py')
    assert listed.split() == [CONFIG, str(installed)]
    _run([bin_dir / 'posessl-make-data', 'data/synthetic_linemod',
          '--num-objects', '1', '--train-frames', '20', '--test-frames',
          '4'], work)
    schedule = ['train_cfg.max_iters=2', 'param_scheduler.0.end=1',
                'param_scheduler.1.begin=1', 'param_scheduler.1.T_max=1',
                'param_scheduler.1.end=2',
                'default_hooks.checkpoint.interval=2']
    _run([bin_dir / 'posessl-train', CONFIG, '--no-validate',
          '--cfg-options'] + schedule, work)
    checkpoint = Path('work_dirs', CONFIG, 'iter_2.pth')
    assert (work / checkpoint).is_file()
    tested = _run([bin_dir / 'posessl-test', CONFIG + '.py', checkpoint],
                  work)
    assert 'ADD(-S) accuracy (%) per object' in tested.stdout + tested.stderr
    assert sorted(os.listdir(work)) == ['data', 'work_dirs']
    # OpenMMLab's layout, where `mim train posessl CONFIG` looks
    assert (site / 'posessl' / '.mim' / 'tools' / 'train.py').is_file()


def _stand_in(site: Path, name: str, version: str) -> None:
    """An installed distribution as pip sees it (metadata, no code)."""
    info = site / f'{name.replace("-", "_")}-{version}.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text(
        f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n')
    (info / 'INSTALLER').write_text('stand-in\n')
    (info / 'RECORD').write_text('')


def test_installing_keeps_an_environments_torch_and_full_mmcv(wheel,
                                                               tmp_path):
    venv = tmp_path / 'openmmlab'
    _run([sys.executable, '-m', 'venv', '--without-pip', venv], tmp_path)
    site = _site_packages(venv)
    # an OpenMMLab environment: its own CUDA torch and a full mmcv ...
    own = {'torch': '2.5.1+cu121', 'torchvision': '0.20.1+cu121',
           'mmcv': '2.1.0'}
    # ... and what else posessl asks for, at the versions found here
    others = ('mmengine', 'numpy', 'scipy', 'matplotlib', 'tqdm',
              'tensorboard', 'moderngl', 'trimesh')
    for name, version in own.items():
        _stand_in(site, name, version)
    for name in others:
        _stand_in(site, name, importlib.metadata.version(name))
    proc = _run([sys.executable, '-m', 'pip', '--python', venv / 'bin' /
                 'python', 'install', '--no-index', wheel], tmp_path,
                check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Successfully installed posessl-' in proc.stdout
    assert 'Uninstalling' not in proc.stdout
    found = {p.name for p in site.glob('*.dist-info')}
    for name, version in own.items():
        assert f'{name}-{version}.dist-info' in found
    assert not [n for n in found if n.startswith('mmcv_lite')]


def test_without_mmcv_importing_posessl_says_what_to_install():
    # no requirement can ask for "mmcv-lite or the full mmcv" (setup.py);
    # the current folder, this checkout, comes first on the path
    proc = _run([sys.executable, '-c',
                 "import sys; sys.modules['mmcv'] = None; import posessl"],
                REPO, check=False)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1].startswith(
        "ImportError: posessl needs mmcv 2.x, of which it uses only the "
        "pure-Python part: pip install 'posessl[lite]'")
