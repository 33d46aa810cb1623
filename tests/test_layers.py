"""Dependencies point one way: what each layer of posessl may import
(relative imports resolved), read from the import statements."""
import ast
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / 'posessl'


def imported_modules(path: Path) -> Iterator[str]:
    """The absolute module names a file of ``posessl`` imports."""
    parts = list(path.relative_to(REPO_ROOT).with_suffix('').parts)
    package = parts[:-1]  # of a module, and of a package's __init__
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] \
                if node.level else []
            module = '.'.join(base + ([node.module] if node.module else []))
            yield module
            if not node.module:  # from . import name: name is a module
                yield from (f'{module}.{a.name}' for a in node.names)


def imports_of(folder: str) -> Iterator[tuple]:
    """``(file, module)`` for every import of the files under ``folder``."""
    root = PACKAGE / folder
    files = [root.with_suffix('.py')] if root.with_suffix('.py').is_file() \
        else sorted(root.rglob('*.py'))
    for path in files:
        for module in imported_modules(path):
            yield str(path.relative_to(REPO_ROOT)), module


def test_relative_imports_resolve_to_absolute_names():
    names = set(imported_modules(PACKAGE / 'synthetic' / 'generator.py'))
    assert {'posessl.geometry', 'posessl.rendering',
            'posessl.synthetic.trajectory'} <= names
    init = set(imported_modules(PACKAGE / 'rendering' / '__init__.py'))
    assert 'posessl.rendering.renderer' in init


@pytest.mark.parametrize('layer, forbidden', [
    ('models', 'posessl.synthetic'),
    ('synthetic', 'posessl.datasets'),
    ('synthetic', 'posessl.models'),
    ('rendering', 'posessl.synthetic'),
    ('rendering', 'posessl.models'),
    ('geometry', 'posessl.datasets'),
    ('geometry', 'posessl.synthetic'),
    ('structures', 'posessl.datasets'),
])
def test_a_layer_never_imports_the_ones_above(layer, forbidden):
    for where, module in imports_of(layer):
        assert not (module == forbidden
                    or module.startswith(forbidden + '.')), (where, module)


def test_the_errors_module_imports_nothing_of_posessl():
    assert not [m for _, m in imports_of('errors')
                if m.split('.')[0] == 'posessl']


def test_the_cli_takes_error_classes_only_from_the_errors_module():
    modules = {m for _, m in imports_of('engine/cli')}
    for layer in ('datasets', 'evaluation', 'apis', 'structures'):
        assert not [m for m in modules
                    if m.startswith(f'posessl.{layer}')], layer
    assert not modules & {'posessl.engine.checkpoint_safety',
                          'posessl.engine.work_dir_lock'}
