"""The fixes for mmaction2 1.2.0 / mmengine 0.10.7 / torch >= 2.6."""
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
import torch

from conftest import REPO, TINY_CONFIG, tool_env

import mmaction_aim  # noqa: F401
from mmaction_aim import compat


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          cwd=REPO, env=tool_env(), capture_output=True,
                          text=True, timeout=240)


def test_mmaction_models_import_without_drn():
    import mmaction.models  # noqa: F401
    from mmaction.models.localizers.drn.drn import DRN
    with pytest.raises(ImportError, match='DRN'):
        DRN()


def test_package_lookup_matches_installed_layout():
    import mmaction
    mmaction_dir = osp.dirname(osp.abspath(mmaction.__file__))
    assert compat.get_installed_path('mmaction2') == mmaction_dir
    assert compat.get_installed_path('mmaction') == mmaction_dir
    assert compat.package2module('mmaction2') == 'mmaction'
    assert compat.is_installed('mmaction2') and compat.is_installed('mmengine')
    assert not compat.is_installed('surely_not_a_package_xyz')
    assert compat.get_installed_path('mmaction_aim') == osp.join(
        REPO, 'mmaction_aim')


def test_mmengine_uses_the_replacements():
    import mmengine.config.config as config_module
    import mmengine.utils as mmengine_utils
    assert config_module.get_installed_path is compat.get_installed_path
    assert config_module.is_installed is compat.is_installed
    assert mmengine_utils.get_installed_path is compat.get_installed_path


def test_mmaction_base_configs_without_pkg_resources():
    """As with setuptools >= 82, where pkg_resources is gone."""
    proc = run_python(f"""
        import sys
        sys.modules['pkg_resources'] = None  # import pkg_resources fails
        import mmaction_aim
        from mmengine.config import Config
        cfg = Config.fromfile({TINY_CONFIG!r})
        assert cfg.default_scope == 'mmaction', cfg.default_scope
        assert cfg.default_hooks.timer.type == 'IterTimerHook'
        print('ok')
        """)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith('ok')


def test_torch_load_default_is_weights_only():
    """The situation the checkpoint fixes are for (torch >= 2.6)."""
    import inspect
    from torch.serialization import _default_to_weights_only
    assert _default_to_weights_only(None) is True
    assert 'weights_only' in inspect.signature(torch.load).parameters


def test_cpu_ddp_accepts_the_launcher_device_ids(tmp_path):
    """MMEngine's runner gives DDP ``device_ids=[LOCAL_RANK]``; a CPU model
    under gloo trains with them."""
    if torch.cuda.is_available():
        pytest.skip('CPU-only behaviour')
    import torch.distributed as dist
    from mmengine.model.wrappers import MMDistributedDataParallel
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/store',
                            rank=0, world_size=1)
    try:
        model = MMDistributedDataParallel(module=torch.nn.Linear(2, 2),
                                          device_ids=[0])
        model(torch.ones(1, 2)).sum().backward()
        assert model.module.weight.grad is not None
    finally:
        dist.destroy_process_group()


def test_import_is_quiet_but_other_warnings_stay():
    """MMCV-lite's MultiScaleDeformableAttention warning, and only it, is
    silenced."""
    proc = run_python("""
        import warnings
        import mmaction_aim
        import mmaction.models  # imports mmcv.cnn, which warns
        warnings.warn_explicit('another mmcv warning', UserWarning,
                               'transformer.py', 1,
                               module='mmcv.cnn.bricks.transformer')
        warnings.warn('a warning of ours', UserWarning)
        print('ok')
        """)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'MultiScaleDeformableAttention' not in proc.stderr
    assert 'another mmcv warning' in proc.stderr
    assert 'a warning of ours' in proc.stderr


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
