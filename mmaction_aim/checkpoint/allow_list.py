"""What a checkpoint may contain besides tensors and plain containers.

``torch.load(weights_only=True)`` rebuilds tensors, containers and the
objects of an allow-list only. MMEngine checkpoints also pickle their message
hub (``HistoryBuffer``) and numpy values: exactly those are on the built-in
list, :data:`SAFE_CHECKPOINT_GLOBALS`. Users may add their own plain-data
*classes* by name (:func:`allow_checkpoint_globals`); functions, builtins and
modules are refused, since calling them is how a pickle runs code.

The list is handed to PyTorch through its own extension point,
``torch.serialization.safe_globals``, for the duration of one of our reads
(:func:`allow_list_in_effect`); nothing is added process-wide.
"""
import contextlib
import importlib
from collections import OrderedDict, defaultdict
from typing import Any, Dict, Iterator, List, Sequence

import numpy as np
import torch

from .errors import UnsafeCheckpointError


def _numpy_globals() -> List[Any]:
    """The numpy objects a pickled array, scalar or dtype refers to."""
    try:  # numpy >= 2
        from numpy._core import multiarray
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray
    objects: List[Any] = [np.ndarray, np.dtype, multiarray._reconstruct,
                          multiarray.scalar]
    # numpy >= 1.25 pickles dtypes by class (``numpy.dtypes.Float32DType``).
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        objects += [getattr(dtypes, name) for name in dir(dtypes)
                    if name.endswith('DType')]
    # Pickles written under numpy 1.x name ``numpy.core.multiarray``; give the
    # same functions under that module name so they load under numpy 2 too.
    objects += [
        (multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy.core.multiarray.scalar')]
    return objects


_HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')


def _history_buffer_method(owner: Any, name: Any) -> Any:
    """What a checkpoint gets for ``builtins.getattr``: only the statistics
    methods of ``HistoryBuffer``.

    A ``HistoryBuffer`` pickles its ``_statistics_methods`` as
    ``getattr(HistoryBuffer, 'mean')`` etc. The real ``getattr`` would let a
    pickle walk from any allowed object to ``__globals__`` and run anything,
    so this stand-in answers those four look-ups and refuses every other.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if owner is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise RefusedLookup(
        f'getattr({getattr(owner, "__name__", type(owner).__name__)}, '
        f'{name!r})')


class RefusedLookup(RuntimeError):
    """Raised inside an unpickling by the restricted ``getattr``; turned
    into :class:`UnsafeCheckpointError` by the reader. Not an
    ``UnpicklingError``, so that PyTorch passes it on unchanged."""


def _mmengine_globals() -> List[Any]:
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, (_history_buffer_method, 'builtins.getattr')]


def _builtin_globals() -> List[Any]:
    return [OrderedDict, defaultdict, *_numpy_globals(), *_mmengine_globals()]


#: Every non-tensor object an MMEngine / MMAction2 checkpoint contains: the
#: message hub's ``HistoryBuffer`` (and the four statistics methods it
#: pickles by ``getattr``), numpy arrays, scalars and dtypes (logged values),
#: ``OrderedDict`` / ``defaultdict``. Vetted one by one; users extend it with
#: classes only (:func:`allow_checkpoint_globals`).
SAFE_CHECKPOINT_GLOBALS: List[Any] = _builtin_globals()

# What users allowed, by name.
_user_globals: Dict[str, type] = {}

# Modules none of whose classes a checkpoint may construct, whatever a user
# allows: constructing them opens files or processes, or builds code.
_NEVER_ALLOWED = ('builtins', 'os', 'posix', 'nt', 'sys', 'subprocess',
                  'shutil', 'importlib', 'pickle', 'runpy', 'code', 'codeop',
                  'socket', 'ctypes', 'pty', 'multiprocessing', 'io', '_io',
                  'tempfile', 'types', 'functools', 'operator', 'threading',
                  'signal', 'inspect', 'ast', 'marshal', 'shelve',
                  'webbrowser', 'asyncio', 'torch.serialization', 'torch.hub',
                  'torch.jit', 'torch._C', 'torch.ops')


def allow_checkpoint_globals(names: Sequence[str]) -> List[str]:
    """Let our checkpoint reads rebuild these classes too, by full name.

    For checkpoints you trust whose extra objects are plain data (a record
    class, an enum of your own). Only classes (enums included) can be
    allowed: functions, builtins and modules are refused, and so is every
    class of a module whose objects open files or processes or build code
    (``builtins``, ``os``, ``subprocess``, ``io``, ``functools``,
    ``operator``, ``types``, ...).

    The same from a config: ``checkpoint_safe_globals = ['pkg.module.Type']``
    (:class:`~mmaction_aim.engine.AIMRunner` applies it).

    Args:
        names (Sequence[str]): Full names, e.g. ``'my_pkg.records.Record'``,
            as a refusal prints them.

    Returns:
        List[str]: The names now allowed.

    Raises:
        ValueError: A name that cannot be imported, is not a class, or is
            never allowed; nothing is added then.
    """
    found = {}
    for name in names:
        module_name = name.rsplit('.', 1)[0] if '.' in name else ''
        if not module_name or any(
                module_name == bad or module_name.startswith(bad + '.')
                for bad in _NEVER_ALLOWED):
            raise ValueError(
                f'{name!r} cannot be allowed in checkpoints: objects of '
                f'{module_name or name!r} can run code when unpickled')
        obj = _import_by_name(name)
        if not isinstance(obj, type):
            kind = ('module' if isinstance(obj, type(importlib)) else
                    'function' if callable(obj) else type(obj).__name__)
            raise ValueError(
                f'{name!r} is a {kind}, not a class: only classes (plain '
                'data, enums) can be allowed in checkpoints, since calling a '
                'function is how a pickle runs code')
        if obj.__module__.split('.')[0] in _NEVER_ALLOWED:
            raise ValueError(
                f'{name!r} is {obj.__module__}.{obj.__qualname__}, whose '
                'objects can run code when unpickled')
        found[name] = obj
    _user_globals.update(found)
    return list(found)


def _import_by_name(name: str) -> Any:
    """``'pkg.mod.Class.Inner'`` -> the object, importing the module part."""
    parts = name.split('.')
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module('.'.join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            break
        return obj
    raise ValueError(f'Cannot allow {name!r} in checkpoints: no such object '
                     '(give the full name, module and qualified name)')


def allowed_globals() -> List[Any]:
    """The allow-list of every read: the built-in one plus users' classes."""
    return SAFE_CHECKPOINT_GLOBALS + [
        (obj, name) for name, obj in _user_globals.items()]


def allowed_names() -> set:
    """The full names of :func:`allowed_globals` (as pickles spell them)."""
    names = set()
    for entry in allowed_globals():
        obj, name = entry if isinstance(entry, tuple) else (entry, None)
        names.add(name or f'{obj.__module__}.{obj.__qualname__}')
    return names


@contextlib.contextmanager
def allow_list_in_effect() -> Iterator[None]:
    """PyTorch's weights-only allow-list extended by ours while this runs
    (``torch.serialization.safe_globals``), entries already present left to
    whoever added them."""
    present = torch.serialization.get_safe_globals()
    ours = [g for g in allowed_globals() if g not in present]
    with torch.serialization.safe_globals(ours):
        try:
            yield
        except RefusedLookup as exc:
            raise UnsafeCheckpointError(f'{exc} is not allowed') from None


__all__ = [
    'SAFE_CHECKPOINT_GLOBALS', 'allow_checkpoint_globals', 'allowed_globals',
    'allowed_names', 'allow_list_in_effect'
]
