"""Fixes for the published mmaction2 1.2.0 / mmengine 0.10.7, on import.

Nothing here edits installed files: each fix is a small, idempotent patch of
the running interpreter, applied by :func:`apply_all` when ``mmaction_aim`` is
imported.

The fixes:

* ``mmaction.models.localizers.drn`` is missing from the 1.2.0 wheel, so
  ``import mmaction.models`` fails (:func:`patch_missing_drn`).
* MMEngine resolves ``mmaction::`` base configs through ``pkg_resources``,
  which recent setuptools no longer ship (:func:`patch_package_utils`).
* Under torch >= 2.6 ``torch.load`` defaults to ``weights_only=True`` and
  refuses MMEngine checkpoints, which pickle their message hub; MMEngine's
  checkpoint schemes are re-registered on an allow-listed safe loader
  (:func:`patch_checkpoint_loading`).
* MMCV-lite lacks the compiled ``MultiScaleDeformableAttention``, and MMCV
  warns about it on every import of ``mmcv.cnn``; nothing here uses it, so
  exactly that warning is silenced (:func:`silence_mmcv_lite_warning`).
* ``torchrun`` on a machine without a GPU: MMEngine calls
  ``torch.cuda.set_device`` and gives DDP CUDA ``device_ids``
  (:func:`patch_cpu_distributed`).
"""
import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import os.path as osp
import sys
import types
from typing import Optional

_DRN_PACKAGE = 'mmaction.models.localizers.drn'


class _MissingDRN:
    """Stand-in for the DRN localizer that the mmaction2 1.2.0 wheel lacks."""

    def __init__(self, *args, **kwargs):
        raise ImportError(
            'The mmaction2 1.2.0 wheel published on PyPI does not ship '
            '`mmaction.models.localizers.drn`, so the DRN localizer is '
            'unavailable. Install mmaction2 from source to use it.')


class _DRNFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Provides ``mmaction.models.localizers.drn[.drn]`` when it is missing."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in (_DRN_PACKAGE, _DRN_PACKAGE + '.drn'):
            return None
        # Only step in when the real module cannot be found.
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                return None
        return importlib.machinery.ModuleSpec(
            fullname, self, is_package=fullname == _DRN_PACKAGE)

    def create_module(self, spec):
        return types.ModuleType(spec.name)

    def exec_module(self, module):
        module.DRN = _MissingDRN
        if module.__name__ == _DRN_PACKAGE:
            module.__path__ = []


def patch_missing_drn() -> None:
    """Let ``import mmaction.models`` succeed without the DRN sources."""
    if not any(isinstance(f, _DRNFinder) for f in sys.meta_path):
        sys.meta_path.append(_DRNFinder())


# --------------------------------------------------------------------------
# pkg_resources-free package lookup (mmengine.utils.package_utils)
# --------------------------------------------------------------------------


def _distribution(package: str) -> Optional[importlib.metadata.Distribution]:
    try:
        return importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _module_dir(module: str) -> Optional[str]:
    """Directory of an importable top-level module, without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.origin is None:
        raise RuntimeError(
            f'{module} is a namespace package, which is invalid for '
            '`get_installed_path`')
    return osp.dirname(osp.abspath(spec.origin))


def is_installed(package: str) -> bool:
    """Whether a distribution or an importable module named ``package`` exists.

    Same contract as ``mmengine.utils.is_installed``, through
    ``importlib.metadata`` instead of ``pkg_resources``.

    Args:
        package (str): Distribution name (``mmaction2``) or module name
            (``mmaction``).

    Returns:
        bool: Whether it is installed.
    """
    if _distribution(package) is not None:
        return True
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin is not None


def package2module(package: str) -> str:
    """Top-level module name of a distribution (``mmaction2`` -> ``mmaction``).

    Args:
        package (str): Distribution name.

    Returns:
        str: The first module listed by the distribution.
    """
    dist = _distribution(package)
    if dist is None:
        raise importlib.metadata.PackageNotFoundError(package)
    top_level = dist.read_text('top_level.txt')
    if top_level and top_level.split():
        return top_level.split()[0]
    for module, dists in importlib.metadata.packages_distributions().items():
        if dist.metadata['Name'] in dists:
            return module
    raise ValueError(f'can not infer the module name of {package}')


def get_installed_path(package: str) -> str:
    """Directory of an installed package (``mmaction2`` -> ``.../mmaction``).

    Same contract as ``mmengine.utils.get_installed_path``; also right for
    editable installs, whose files are not under the distribution's location.

    Args:
        package (str): Distribution name or module name.

    Returns:
        str: The package directory.
    """
    dist = _distribution(package)
    if dist is None:
        path = _module_dir(package)
        if path is None:
            raise importlib.metadata.PackageNotFoundError(package)
        return path
    location = str(dist.locate_file(''))
    if osp.isdir(osp.join(location, package)):
        return osp.join(location, package)
    module = package2module(package)
    path = _module_dir(module)
    return path if path is not None else osp.join(location, module)


def patch_package_utils() -> None:
    """Route MMEngine's package lookups through ``importlib.metadata``.

    MMEngine binds these functions by name in several modules, so each
    binding of the original is replaced.
    """
    import mmengine.utils.package_utils as package_utils
    replacements = dict(is_installed=is_installed,
                        get_installed_path=get_installed_path,
                        package2module=package2module)
    originals = {name: getattr(package_utils, name) for name in replacements}
    modules = [package_utils]
    for name in ('mmengine.utils', 'mmengine.config.config',
                 'mmengine.hub.hub'):
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            pass
    for module in modules:
        for name, new in replacements.items():
            if getattr(module, name, None) is originals[name]:
                setattr(module, name, new)


# --------------------------------------------------------------------------
# Distributed training on CPUs (gloo)
# --------------------------------------------------------------------------


def patch_cpu_distributed() -> None:
    """Let ``--launcher pytorch`` run on a machine without a GPU.

    MMEngine's PyTorch launcher calls ``torch.cuda.set_device`` and its
    runner wraps the model with ``device_ids=[LOCAL_RANK]``; both fail for a
    CPU model. On such a machine the device is left alone and DDP gets no
    ``device_ids``, which is how PyTorch runs CPU modules under gloo.
    """
    import torch
    import mmengine.dist.utils as dist_utils
    from mmengine.model.wrappers import MMDistributedDataParallel

    if not getattr(dist_utils._init_dist_pytorch, '_aim_patched', False):
        original_init = dist_utils._init_dist_pytorch

        def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
            from mmengine.device import (is_mlu_available, is_musa_available,
                                         is_npu_available)
            if (torch.cuda.is_available() or is_npu_available()
                    or is_mlu_available() or is_musa_available()):
                return original_init(backend, init_backend, **kwargs)
            import torch.distributed as torch_dist
            if backend in ('nccl', None):
                backend = 'gloo'
            torch_dist.init_process_group(backend=backend, **kwargs)

        _init_dist_pytorch._aim_patched = True
        dist_utils._init_dist_pytorch = _init_dist_pytorch

    if not getattr(MMDistributedDataParallel.__init__, '_aim_patched', False):
        original_ddp_init = MMDistributedDataParallel.__init__

        def __init__(self, module, detect_anomalous_params=False, **kwargs):
            devices = {p.device.type for p in module.parameters()}
            if devices == {'cpu'}:
                kwargs.pop('device_ids', None)
                kwargs.pop('output_device', None)
            original_ddp_init(self, module=module,
                              detect_anomalous_params=detect_anomalous_params,
                              **kwargs)

        __init__._aim_patched = True
        MMDistributedDataParallel.__init__ = __init__


def patch_checkpoint_loading() -> None:
    """Load every MMEngine checkpoint through the allow-listed safe loader."""
    from .engine.checkpoint import install_safe_loaders
    install_safe_loaders()


def silence_mmcv_lite_warning() -> None:
    """Hide MMCV's "Fail to import MultiScaleDeformableAttention" warning.

    Only that message, only from ``mmcv.cnn.bricks.transformer``; every
    other warning is left as it is.
    """
    import warnings
    warnings.filterwarnings(
        'ignore', message=r'Fail to import ``MultiScaleDeformableAttention``',
        category=UserWarning, module=r'mmcv\.cnn\.bricks\.transformer')


def apply_all() -> None:
    """Apply every compatibility fix (idempotent)."""
    silence_mmcv_lite_warning()
    patch_missing_drn()
    patch_package_utils()
    patch_cpu_distributed()
    patch_checkpoint_loading()
