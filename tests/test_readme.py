"""README's two quick-start commands, .ci/run and the shipped files agree,
and the README stays a page a newcomer reads in five minutes."""
import os.path as osp
import re

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
MAX_README_LINES = 200


def _read(name: str) -> str:
    with open(osp.join(REPO, name)) as f:
        return f.read()


def _section(title: str) -> str:
    return _read('README.md').split(f'## {title}', 1)[1].split('\n## ', 1)[0]


def _quick_start() -> list:
    return re.findall(r'```bash\n(.*?)\n```', _section('Quick start'), re.S)


def test_quick_start_is_two_commands():
    commands = _quick_start()
    assert len(commands) == 2 and all('\n' not in c for c in commands)
    main_job, tests = commands
    assert main_job.endswith('python tools/run_pipeline.py')
    assert tests.endswith('python -m pytest tests')
    # one install, with the versions this project is tested with
    assert main_job.rsplit(' && ', 1)[0] == tests.rsplit(' && ', 1)[0]
    assert main_job.split(' && ')[2].endswith('-c constraints.txt')


def test_quick_start_says_how_long_the_main_job_takes():
    section = _section('Quick start')
    assert re.search(r'\d+ minutes on a 2-core CPU', section)
    assert '`--quick`' in section


def test_constraints_pin_what_setup_py_only_bounds():
    pins = dict(line.split('==') for line in _read('constraints.txt')
                .splitlines() if line and not line.startswith('#'))
    assert pins['torch'] == '2.14.1' and pins['torchvision'] == '0.29.1'
    assert pins['mmcv-lite'] == '2.2.0'
    setup = _read('setup.py')
    assert not re.search(r"'(torch|torchvision|mmengine|mmcv-lite)==",
                         setup)
    assert "'mmcv" not in setup.split('extras_require')[0]


def test_ci_runs_the_readme_install_and_test_command():
    ci = _read('.ci/run')
    install, test = _quick_start()[1].rsplit(' && ', 1)
    assert install in ci
    assert re.search(rf'^{re.escape(test)}$', ci, re.M)


def test_readme_is_short_and_keeps_one_results_table():
    readme = _read('README.md')
    assert len(readme.splitlines()) <= MAX_README_LINES
    results = _section('Results')
    assert readme.count('<!-- results:start -->') == 1
    assert readme.count('<!-- results:end -->') == 1
    inside = results.split('<!-- results:start -->')[1].split(
        '<!-- results:end -->')[0]
    assert inside.count('| set | labels |') == 1
    assert readme.count('| set | labels |') == 1


def test_files_the_docs_name_exist():
    for doc in ('README.md', 'docs/usage.md'):
        text = _read(doc)
        for path in set(re.findall(
                r'\b((?:tools|configs|benchmarks|docs)/[\w./-]+\.'
                r'(?:py|sh|md))', text)):
            assert osp.isfile(osp.join(REPO, path)), (doc, path)
        folder = osp.dirname(osp.join(REPO, doc))
        for link in re.findall(r'\]\(([\w./-]+)\)', text):
            assert osp.exists(osp.join(folder, link)), (doc, link)
