"""The console commands (posessl.launcher): configs by name or path, the
tool scripts run as they are, one error line for a config that is not
there."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from posessl import launcher

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / 'configs'
POSE = CONFIGS / 'pose' / 'pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py'


def test_a_checkout_is_its_own_resource_root():
    assert launcher.resource_root() == str(REPO)


def test_every_runnable_config_has_a_name():
    names = launcher.config_names()
    files = sorted(str(p) for p in CONFIGS.rglob('*.py')
                   if '_base_' not in p.parts)
    assert sorted(names.values()) == files
    assert names[POSE.stem] == str(POSE)
    assert 'default_runtime' not in names  # _base_ files are no configs


@pytest.mark.parametrize('arg', [
    POSE.stem, POSE.name, 'configs/pose/' + POSE.name, 'pose/' + POSE.name
])
def test_a_config_by_name_or_path_from_another_folder(arg, tmp_path,
                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert launcher.resolve_config(arg) == str(POSE)


def test_an_existing_file_is_kept_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / POSE.name).write_text('# my own copy\n')
    assert launcher.resolve_config(POSE.name) == POSE.name
    assert launcher.resolve_config('nothing_like_it') is None
    assert launcher.resolve_config('configs/pose/nope.py') is None


def test_arguments_other_than_configs_are_left_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [POSE.stem, 'work_dirs/x/iter_600.pth', '--work-dir', 'out',
            '--cfg-options', 'train_cfg.max_iters=2', 'model.x=a.py']
    assert launcher.resolve_arguments(argv) == [str(POSE)] + argv[1:]


@pytest.mark.parametrize('arg', [
    'pose_r18-ssl-ft_1xb32-600it_realmesh-10pc',  # a near miss
    'configs/pose/typo.py',
])
def test_a_config_that_is_not_there_is_one_error(arg, tmp_path,
                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(launcher.LauncherError,
                       match=f"config '{arg}' not found"):
        launcher.resolve_arguments([arg, '--work-dir', 'w'])


def _fake_root(tmp_path: Path) -> Path:
    """A resource root whose train.py reports what it was given."""
    root = tmp_path / 'root'
    (root / 'configs' / 'pose').mkdir(parents=True)
    (root / 'configs' / 'pose' / 'pose_tiny.py').write_text('x = 1\n')
    (root / 'tools').mkdir()
    (root / 'tools' / 'train.py').write_text(
        'import sys\n'
        "if __name__ == '__main__':\n"
        "    print('argv', sys.argv[1:])\n"
        "    if '--fail' in sys.argv:\n"
        '        sys.exit(3)\n')
    return root


def test_a_command_runs_the_tool_script_with_names_resolved(
        tmp_path, monkeypatch, capsys):
    root = _fake_root(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = list(sys.argv)
    assert launcher.run_tool('train', ['pose_tiny', '--work-dir', 'w'],
                             root=str(root)) == 0
    config = root / 'configs' / 'pose' / 'pose_tiny.py'
    assert capsys.readouterr().out == \
        f"argv ['{config}', '--work-dir', 'w']\n"
    with pytest.raises(SystemExit) as exc:  # the tool's status passes
        launcher.run_tool('train', ['pose_tiny', '--fail'], root=str(root))
    assert exc.value.code == 3 and sys.argv == before


def test_an_installation_without_its_tools_says_so(tmp_path):
    with pytest.raises(launcher.LauncherError, match='installed without'):
        launcher.run_tool('train', ['x'], root=str(tmp_path))


def test_posessl_lists_commands_and_configs(capsys):
    assert launcher.main(['configs', 'realmesh', 'ssl-ft_1xb32']) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == [
        'pose_r18-ssl-ft_1xb32-1200it_realmesh-100pct',
        'pose_r18-ssl-ft_1xb32-600it_realmesh-10pct',
        'pose_r18-ssl-ft_1xb32-600it_realmesh-2pct']
    assert launcher.main(['-h']) == 0
    assert 'make-data' in capsys.readouterr().out
    assert launcher.main([]) == 2
    assert launcher.main(['trian']) == 2
    assert capsys.readouterr().err == (
        "error: unknown command 'trian' (did you mean 'train'?); "
        "'posessl -h' lists them\n")


def test_a_wrong_config_name_is_one_line_and_status_1(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, '-m', 'posessl', 'train', 'ssl_r18_1xb32-5e_synth'],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and proc.stdout == ''
    [line] = proc.stderr.splitlines()
    assert line.startswith(
        "error: config 'ssl_r18_1xb32-5e_synth' not found: it is no file "
        'and no config has that name; closest: ssl_r18_1xb32-5e_synthetic, ')
    assert line.endswith("('posessl configs' lists them)")
