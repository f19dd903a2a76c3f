"""The fixes for the published packages (mmaction_aim/compat.py): each
works, and each is still needed by the installed releases."""
import subprocess
import sys
import textwrap

import pytest
import torch

from conftest import REPO, tool_env

import mmaction_aim  # noqa: F401
from mmaction_aim import compat


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          cwd=REPO, env=tool_env(), capture_output=True,
                          text=True, timeout=240)


@pytest.mark.parametrize('fix', sorted(compat.still_needed()))
def test_every_fix_is_still_needed_by_the_installed_release(fix):
    """Fails once an upstream release no longer needs a fix: then delete it
    from mmaction_aim/compat.py (and this line of its table)."""
    assert compat.still_needed()[fix], (
        f'{fix} is no longer needed by the installed release: remove it '
        'from mmaction_aim/compat.py')


def test_mmaction_models_import_without_drn():
    import mmaction.models  # noqa: F401
    from mmaction.models.localizers.drn.drn import DRN
    with pytest.raises(ImportError, match='DRN'):
        DRN()


def test_import_is_quiet_but_other_warnings_stay():
    """MMCV-lite's MultiScaleDeformableAttention warning and setuptools'
    pkg_resources notice (both from importing MMEngine / MMCV), and only
    they, are silenced; nothing else of MMEngine is patched."""
    proc = run_python("""
        import warnings
        import mmaction_aim
        import mmaction.models  # imports mmcv.cnn, which warns
        from mmengine.config import Config
        Config.fromfile('configs/aim_vitb_k400.py')  # mmaction:: bases
        import mmengine.runner.checkpoint as ckpt
        import mmengine.dist.utils as dist_utils
        assert ckpt.CheckpointLoader._schemes[''].__module__ == \\
            'mmengine.runner.checkpoint'
        assert dist_utils._init_dist_pytorch.__module__ == \\
            'mmengine.dist.utils'
        warnings.warn_explicit('another mmcv warning', UserWarning,
                               'transformer.py', 1,
                               module='mmcv.cnn.bricks.transformer')
        warnings.warn('a warning of ours', UserWarning)
        print('ok')
        """)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'MultiScaleDeformableAttention' not in proc.stderr
    assert 'pkg_resources' not in proc.stderr
    assert 'another mmcv warning' in proc.stderr
    assert 'a warning of ours' in proc.stderr


def test_torch_load_default_is_weights_only():
    """The situation the checkpoint reader is for (torch >= 2.6); the reader
    passes weights_only=True itself all the same."""
    import inspect
    from torch.serialization import _default_to_weights_only
    assert _default_to_weights_only(None) is True
    assert 'weights_only' in inspect.signature(torch.load).parameters


def test_one_opencv_release_behind_cv2():
    """MMEngine/MMCV need opencv-python, MMAction2 opencv-contrib-python;
    both install `cv2`, so they must be the one release setup.py pins."""
    import importlib.metadata

    import cv2
    versions = set()
    for dist in ('opencv-python', 'opencv-contrib-python'):
        try:
            versions.add(importlib.metadata.version(dist))
        except importlib.metadata.PackageNotFoundError:
            pass
    assert len(versions) == 1, versions
    assert cv2.__version__ == versions.pop().rsplit('.', 1)[0]
