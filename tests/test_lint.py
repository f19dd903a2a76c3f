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


def test_models_and_checkpoint_never_import_engine():
    """The layering of the loading pipeline: mmaction_aim/checkpoint is
    shared by models and engine, and neither it nor models imports
    engine."""
    import glob
    for part in ('models', 'checkpoint'):
        pattern = os.path.join(REPO, 'mmaction_aim', part, '**', '*.py')
        for path in glob.glob(pattern, recursive=True):
            package = os.path.dirname(os.path.relpath(path, REPO)).replace(
                os.sep, '.')
            for name in _imported_modules(path, package):
                assert not name.startswith('mmaction_aim.engine'), \
                    (path, name)
            # The check itself sees relative imports.
            if path.endswith('aim_backbone.py'):
                assert 'mmaction_aim.checkpoint' in set(
                    _imported_modules(path, package))
