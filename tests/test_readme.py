"""README's two quick-start commands, .ci/run and the shipped files agree."""
import os.path as osp
import re

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _read(name: str) -> str:
    with open(osp.join(REPO, name)) as f:
        return f.read()


def _quick_start() -> list:
    readme = _read('README.md')
    section = readme.split('## Quick start', 1)[1].split('\n## ', 1)[0]
    return re.findall(r'```bash\n(.*?)\n```', section, re.S)


def test_quick_start_is_two_commands():
    commands = _quick_start()
    assert len(commands) == 2 and all('\n' not in c for c in commands)
    main_job, tests = commands
    assert main_job.endswith('python tools/run_pipeline.py')
    assert tests.endswith('python -m pytest tests')


def test_ci_runs_the_readme_install_and_test_command():
    ci = _read('.ci/run')
    install, test = _quick_start()[1].rsplit(' && ', 1)
    assert install in ci
    assert re.search(rf'^{re.escape(test)}$', ci, re.M)


def test_files_the_readme_names_exist():
    readme = _read('README.md')
    for path in set(re.findall(
            r'\b((?:tools|configs|benchmarks|docs)/[\w./-]+\.(?:py|sh|md))',
            readme)):
        assert osp.isfile(osp.join(REPO, path)), path
