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
