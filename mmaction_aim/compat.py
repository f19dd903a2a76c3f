"""The published packages' defects this plugin works around, in one place.

Everything else the plugin needs from MMEngine and PyTorch goes through
their extension points (:class:`~mmaction_aim.engine.AIMRunner`,
``torch.serialization.safe_globals``). Three defects have none; each fix is
listed here with its reason, the release it is for, and a check of whether
that release still needs it (:func:`still_needed`; ``tests/test_compat.py``
fails once an upstream release makes a fix unnecessary, so that it can be
removed). :func:`apply_all` runs when ``mmaction_aim`` is imported, before
anything imports ``mmaction.models``.

* :func:`provide_missing_drn` (mmaction2 1.2.0, the PyPI wheel): the
  wheel lacks ``mmaction/models/localizers/drn``, so ``import
  mmaction.models`` fails.
* :func:`silence_mmcv_lite_warning` (mmcv-lite 2.1.0): every import of
  ``mmcv.cnn`` warns that the compiled ``MultiScaleDeformableAttention`` is
  missing, which mmcv-lite never has and nothing here uses.
* :func:`silence_pkg_resources_warning` (mmengine 0.10.7): MMEngine finds
  ``mmaction::`` base configs through ``pkg_resources``, which setuptools
  80 and 81 warn about on every import (``setup.py`` allows up to 81; 82
  removed it): a deprecation notice to MMEngine's authors, not to users.

Fixed elsewhere and no longer here: the ``pkg_resources`` look-ups of
mmengine 0.10.7 themselves (``setup.py`` pins ``setuptools<82``, which still
ships it); loading MMEngine checkpoints under torch >= 2.6 (the runner
reads them with the allow-list); CPU ``torchrun`` (the runner's
``setup_env`` and ``wrap_model``).
"""
import importlib.abc
import importlib.machinery
import importlib.util
import os.path as osp
import sys
import types
import warnings
from typing import Dict

_DRN_PACKAGE = 'mmaction.models.localizers.drn'


class _MissingDRN:
    """Stand-in for the DRN localizer that the mmaction2 1.2.0 wheel lacks."""

    def __init__(self, *args, **kwargs):
        raise ImportError(
            'The mmaction2 1.2.0 wheel published on PyPI does not ship '
            '`mmaction.models.localizers.drn`, so the DRN localizer is '
            'unavailable. Install mmaction2 from source to use it.')


class _DRNFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Provides ``mmaction.models.localizers.drn[.drn]`` when it is missing
    (the real module, where it exists, is found first)."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in (_DRN_PACKAGE, _DRN_PACKAGE + '.drn'):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            if finder.find_spec(fullname, path, target) is not None:
                return None
        return importlib.machinery.ModuleSpec(
            fullname, self, is_package=fullname == _DRN_PACKAGE)

    def create_module(self, spec):
        return types.ModuleType(spec.name)

    def exec_module(self, module):
        module.DRN = _MissingDRN
        if module.__name__ == _DRN_PACKAGE:
            module.__path__ = []


def provide_missing_drn() -> None:
    """Let ``import mmaction.models`` succeed without the DRN sources
    (mmaction2 1.2.0's wheel)."""
    if not any(isinstance(f, _DRNFinder) for f in sys.meta_path):
        sys.meta_path.append(_DRNFinder())


def silence_mmcv_lite_warning() -> None:
    """Hide MMCV's "Fail to import MultiScaleDeformableAttention" warning
    (mmcv-lite 2.1.0): only that message, only from
    ``mmcv.cnn.bricks.transformer``."""
    warnings.filterwarnings(
        'ignore', message=r'Fail to import ``MultiScaleDeformableAttention``',
        category=UserWarning, module=r'mmcv\.cnn\.bricks\.transformer')


def silence_pkg_resources_warning() -> None:
    """Hide setuptools' "pkg_resources is deprecated as an API" warning
    that MMEngine's import of it raises (mmengine 0.10.7); only that
    message."""
    warnings.filterwarnings(
        'ignore', message=r'pkg_resources is deprecated as an API',
        category=UserWarning)


def still_needed() -> Dict[str, bool]:
    """Whether the installed releases still need each fix, found from
    their files (nothing is imported or run).

    Returns:
        dict: ``fix name -> needed``.
    """
    mmaction = importlib.util.find_spec('mmaction')
    drn_dir = osp.join(osp.dirname(mmaction.origin), 'models', 'localizers',
                       'drn')
    package_utils = importlib.util.find_spec('mmengine.utils.package_utils')
    with open(package_utils.origin) as f:
        imports_pkg_resources = 'import pkg_resources' in f.read()
    return dict(
        provide_missing_drn=not osp.isfile(osp.join(drn_dir, 'drn.py')),
        silence_mmcv_lite_warning=importlib.util.find_spec('mmcv._ext') is
        None,
        silence_pkg_resources_warning=imports_pkg_resources)


def apply_all() -> None:
    """Apply every fix (idempotent)."""
    silence_mmcv_lite_warning()
    silence_pkg_resources_warning()
    provide_missing_drn()
