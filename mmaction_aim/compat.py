"""Fixes for the published mmaction2 1.2.0 / mmengine 0.10.7, applied on import.

Nothing here edits installed files: each fix is a small, idempotent patch of
the running interpreter, applied by :func:`apply_all` when ``mmaction_aim`` is
imported.
"""
import importlib.abc
import importlib.machinery
import sys
import types

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


def apply_all() -> None:
    """Apply every compatibility fix (idempotent)."""
    patch_missing_drn()
