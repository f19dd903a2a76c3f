"""The repository is lint-clean under its own ruff configuration."""
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_ruff_is_clean():
    ruff = shutil.which('ruff') or os.path.join(os.path.dirname(
        sys.executable), 'ruff')
    if not os.path.exists(ruff):
        pytest.skip('ruff is not installed (pip install -e .[tests])')
    proc = subprocess.run([ruff, 'check', '--output-format', 'concise',
                           '--no-cache', '.'], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _imported_modules(path: str, package: str):
    """Absolute names of the modules a source file imports."""
    import ast
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split('.')
                base = parts[:len(parts) - node.level + 1]
                yield '.'.join(base + ([node.module] if node.module else []))
            else:
                yield node.module


#: The package's floors, bottom first: a part imports only parts of lower
#: floors (or its own). models and datasets share a floor and never import
#: each other: the facts both need (the view layout) live in utils.
FLOORS = [
    {'utils', 'compat'},
    {'checkpoint'},
    {'models', 'datasets'},
    {'evaluation'},
    {'engine'},
    {'analysis', 'apis'},
]


def test_no_part_imports_a_part_above_it():
    """The layering of the whole package, over every floor (before 0.3 only
    engine was checked, and utils/cli.py imported engine, datasets and
    models; the head imported datasets)."""
    import glob
    floor_of = {part: i for i, parts in enumerate(FLOORS) for part in parts}
    arrows = []
    for path in glob.glob(os.path.join(REPO, 'mmaction_aim', '**', '*.py'),
                          recursive=True):
        relative = os.path.relpath(path, REPO)
        parts = relative.split(os.sep)
        if len(parts) == 2:  # mmaction_aim/__init__.py, compat.py
            part = parts[1][:-3]
        else:
            part = parts[1]
        if part not in floor_of:
            arrows.append((relative, 'is on no floor'))
            continue
        package = os.path.dirname(relative).replace(os.sep, '.')
        for name in _imported_modules(path, package):
            if not name or not name.startswith('mmaction_aim.'):
                continue
            target = name.split('.')[1]
            if target == part or target not in floor_of:
                continue
            if floor_of[target] >= floor_of[part]:
                arrows.append((relative, name))
    # The package's __init__ imports every floor to register them.
    arrows = [a for a in arrows if a[0] != os.path.join('mmaction_aim',
                                                        '__init__.py')]
    assert not arrows, arrows
    # The check itself sees relative imports.
    backbone = os.path.join(REPO, 'mmaction_aim', 'models', 'backbones',
                            'aim_backbone.py')
    assert 'mmaction_aim.checkpoint' in set(
        _imported_modules(backbone, 'mmaction_aim.models.backbones'))
