"""The experiments in ``projects/``: the core never imports one, each has the
layout of projects/README.md, and ``python -m pytest tests`` runs their
tests (their own tests check what they do)."""
import ast
from pathlib import Path
from typing import Iterator, List

import pytest

from tests.conftest import PROJECTS, REPO_ROOT, TESTS, with_projects

NAMES = sorted(path.name for path in PROJECTS.iterdir()
               if (path / '__init__.py').is_file())


def _imported_modules(path: Path) -> Iterator[str]:
    """The absolute module names a Python file imports."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def _bases(config: Path) -> List[str]:
    """A config's ``_base_`` entries (old-style configs: literal lists)."""
    for node in ast.parse(config.read_text()).body:
        if isinstance(node, ast.Assign) and any(
                getattr(t, 'id', None) == '_base_' for t in node.targets):
            value = ast.literal_eval(node.value)
            return [value] if isinstance(value, str) else list(value)
    return []


def test_there_are_projects():
    assert NAMES


def test_the_core_never_imports_a_project():
    for path in sorted((REPO_ROOT / 'posessl').rglob('*.py')):
        for module in _imported_modules(path):
            assert module.split('.')[0] != 'projects', (str(path), module)


@pytest.mark.parametrize('name', NAMES)
def test_a_project_has_its_readme_package_configs_and_tests(name):
    root = PROJECTS / name
    package = f'projects.{name}.{name}'
    assert (root / 'README.md').is_file()
    assert package in (root / 'README.md').read_text()
    assert (root / name / '__init__.py').is_file()
    assert sorted((root / 'tests').glob('test_*.py'))
    for config in sorted((root / 'configs').glob('*.py')):
        bases = _bases(config)
        assert bases, config
        for base in bases:
            assert (config.parent / base).is_file(), (config, base)
        inherited = all(base.startswith('./') for base in bases)
        # the package is loaded by the config, or by the project's config
        # it starts from
        assert inherited or f"imports=['{package}']" in config.read_text(), \
            config


def test_a_run_of_the_tests_folder_also_collects_the_projects():
    projects = str(PROJECTS)
    for args in (['tests'], ['tests/']):
        assert with_projects(args, REPO_ROOT) == [*args, projects]
    assert with_projects([str(TESTS)], Path('/')) == [str(TESTS), projects]
    # from another folder, with a test id
    assert with_projects(['../tests'], REPO_ROOT / 'docs') == [
        '../tests', projects]
    for narrow in (['tests/test_registry.py'], ['tests/test_models'],
                   ['tests/test_registry.py::test_every_location_imports'],
                   ['tests', 'projects/keypoint_pnp/tests'], ['projects'],
                   []):
        assert with_projects(narrow, REPO_ROOT) == narrow
