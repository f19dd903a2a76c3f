"""Safe reading of checkpoints.

Checkpoints are pickles. ``torch.load(weights_only=True)`` only rebuilds
tensors, containers and an explicit allow-list of types, so opening a
checkpoint cannot run code. MMEngine checkpoints also pickle their message hub
(``HistoryBuffer``) and numpy values; exactly those types are allow-listed
(:data:`SAFE_CHECKPOINT_GLOBALS`), plus whatever a user allows by name
(:func:`allow_checkpoint_globals`, or ``checkpoint_safe_globals`` in a
config). Anything else makes the load fail with
:class:`UnsafeCheckpointError` before a single object of that type is created.
There is deliberately no switch to turn this off.

How it is scoped: every load here calls ``torch.load`` itself with
``weights_only=True``; ``torch.load`` is never replaced, so other callers and
other threads keep their own arguments. The allow-list is handed to PyTorch
through its public ``add_safe_globals`` only while one of our loads runs (the
only way PyTorch takes one), and afterwards exactly what was added is taken
away again, leaving entries others added in place.

MMEngine's checkpoint schemes (local files, ``http(s)://``, ``s3://`` /
``petrel://``, ``pavi://``, ``torchvision://``, ``open-mmlab://``,
``mmcls://``) are re-registered on loaders that fetch the bytes as MMEngine
does (its file backends, PyTorch's hub download and cache) and unpickle them
here.

A file that is not a checkpoint at all (missing, empty, truncated, random
bytes, a safetensors file) is a :class:`CheckpointReadError` that names the
file and what is wrong with it.
"""
import contextlib
import importlib
import io
import os
import os.path as osp
import pickle
import re
import threading
from collections import OrderedDict, defaultdict
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence
from urllib.parse import urlparse

import numpy as np
import torch


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


def _history_buffer_method(owner: Any, name: Any) -> Callable:
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
    raise pickle.UnpicklingError(
        f'getattr({getattr(owner, "__name__", type(owner).__name__)}, '
        f'{name!r}) is not allowed in a checkpoint')


def _mmengine_globals() -> List[Any]:
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, (_history_buffer_method, 'builtins.getattr')]


#: Every non-tensor type an MMEngine / MMAction2 checkpoint contains: the
#: message hub's ``HistoryBuffer`` (and the four statistics methods it
#: pickles by ``getattr``), numpy arrays, scalars and dtypes (logged values),
#: and ``OrderedDict`` / ``defaultdict``.
SAFE_CHECKPOINT_GLOBALS: List[Any] = [
    OrderedDict, defaultdict,
    *_numpy_globals(), *_mmengine_globals()
]

# What users allowed by name (allow_checkpoint_globals), by name.
_user_globals: Dict[str, Any] = {}

# Modules whose objects no checkpoint may name, whatever a user allows.
_NEVER_ALLOWED = ('builtins', 'os', 'posix', 'nt', 'sys', 'subprocess',
                  'shutil', 'importlib', 'pickle', 'runpy', 'code', 'socket',
                  'ctypes', 'pty', 'multiprocessing', 'torch.serialization',
                  'torch.hub', 'torch.jit')


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint pickles an object outside the allow-list; nothing ran."""


class CheckpointReadError(ValueError):
    """A file is not a readable checkpoint (empty, truncated, not one)."""


def allow_checkpoint_globals(names: Sequence[str]) -> List[str]:
    """Let checkpoints contain these types or functions too, by full name.

    For checkpoints you trust whose extra objects are plain data (a config
    object, an enum of your own). Each name is imported and added to the
    allow-list of every later load in this process. Objects of modules that
    can run commands or import code (``builtins``, ``os``, ``subprocess``,
    ``pickle``, ...) are refused whatever the name.

    The same from a config: ``checkpoint_safe_globals = ['pkg.module.Type']``
    (``tools/train.py`` and ``tools/test.py`` apply it).

    Args:
        names (Sequence[str]): Full names, e.g. ``'my_pkg.records.Record'``,
            as the refusing error prints them.

    Returns:
        List[str]: The names now allowed.

    Raises:
        ValueError: A name that cannot be imported or that is never allowed.
    """
    if isinstance(names, str):
        names = [names]
    added = []
    for name in names:
        module_name, _, attr = name.rpartition('.')
        if not module_name or any(
                module_name == bad or module_name.startswith(bad + '.')
                for bad in _NEVER_ALLOWED):
            raise ValueError(
                f'{name!r} cannot be allowed in checkpoints: objects of '
                f'{module_name or name!r} can run code when unpickled')
        obj = _import_by_name(name)
        _user_globals[name] = obj
        added.append(name)
    return added


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


def allowed_checkpoint_globals() -> List[Any]:
    """The allow-list of every load: the built-in one plus users' names."""
    return SAFE_CHECKPOINT_GLOBALS + [
        (obj, name) for name, obj in _user_globals.items()]


def _allowed_names() -> set:
    names = set()
    for entry in allowed_checkpoint_globals():
        obj, name = entry if isinstance(entry, tuple) else (entry, None)
        names.add(name or f'{obj.__module__}.{obj.__qualname__}')
    return names


_scope_lock = threading.Lock()
_scope_depth = 0
_scope_added: List[Any] = []


@contextlib.contextmanager
def _allow_list_in_effect() -> Iterator[None]:
    """PyTorch's weights-only allow-list extended by ours while this runs.

    Nested and concurrent loads share one extension; the last to finish
    removes exactly what was added, never an entry someone else added.
    """
    global _scope_depth
    serialization = torch.serialization
    with _scope_lock:
        present = set(serialization.get_safe_globals())
        new = [g for g in allowed_checkpoint_globals() if g not in present]
        if new:
            serialization.add_safe_globals(new)
            _scope_added.extend(new)
        _scope_depth += 1
    try:
        yield
    finally:
        with _scope_lock:
            _scope_depth -= 1
            if _scope_depth == 0 and _scope_added:
                ours = set(_scope_added)
                keep = [g for g in serialization.get_safe_globals()
                        if g not in ours]
                serialization.clear_safe_globals()
                serialization.add_safe_globals(keep)
                _scope_added.clear()


def _unsafe_globals(source: Any) -> List[str]:
    """Names of the globals ``source`` pickles that are not allowed."""
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(source)
    except Exception:
        return []
    return sorted(set(found) - _allowed_names())


def _unpickler_reason(message: str) -> str:
    """The specific reason in torch's weights-only error message, without
    torch's header, footer and advice to load unsafely."""
    for line in message.splitlines():
        line = line.split('WeightsUnpickler error:')[-1].strip()
        if not line or line.startswith(('Weights only load failed',
                                        'Please file an issue',
                                        'Check the documentation')):
            continue
        return line.split(' Please use')[0].split(' If you')[0].strip()
    return ''


_ZIP_MAGIC = (b'PK\x03\x04', b'PK\x05\x06')
_PICKLE_PROTOCOL = 0x80  # the first byte of a pickle of protocol >= 2


def _head(source: Any, size: int = 16) -> bytes:
    """The first bytes of a file name or a seekable binary file."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, 'rb') as f:
            return f.read(size)
    position = source.tell()
    head = source.read(size)
    source.seek(position)
    return head


def _not_a_checkpoint(head: bytes) -> Optional[str]:
    """Why a file whose first bytes are ``head`` cannot be a checkpoint."""
    if not head:
        return 'the file is empty'
    if head.startswith(_ZIP_MAGIC) or head[0] == _PICKLE_PROTOCOL:
        return None  # torch.save's zip format, or a (legacy) pickle
    if len(head) >= 9 and head[8:9] == b'{':
        return ('it is a safetensors file, not a PyTorch checkpoint (read '
                'it with safetensors.torch.load_file)')
    return ('it is not a PyTorch checkpoint (neither the zip archive '
            'torch.save writes nor a pickle)')


def _source_name(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return getattr(source, 'name', '<in-memory file>')


def safe_load(source: Any, map_location: Any = None,
              name: Optional[str] = None) -> Any:
    """``torch.load(weights_only=True)`` with the checkpoint allow-list.

    Args:
        source (str | os.PathLike | IO[bytes]): File name or open binary file.
        map_location: As for ``torch.load``. Defaults to None.
        name (str, optional): What to call the file in errors (a URL read
            into memory). Defaults to the file name.

    Returns:
        The checkpoint object.

    Raises:
        FileNotFoundError: No such file.
        CheckpointReadError: Empty, truncated or not a checkpoint.
        UnsafeCheckpointError: The file pickles a type outside the allow-list
            (for instance code set to run on load); nothing in it was run.
    """
    name = name or _source_name(source)
    if isinstance(source, (str, os.PathLike)) and not osp.isfile(source):
        raise FileNotFoundError(f'Checkpoint {name} does not exist')
    why = _not_a_checkpoint(_head(source))
    if why is not None:
        raise CheckpointReadError(f'Cannot read checkpoint {name}: {why}')
    try:
        with _allow_list_in_effect():
            return torch.load(source, map_location=map_location,
                              weights_only=True)
    except pickle.UnpicklingError as exc:
        if hasattr(source, 'seek'):
            source.seek(0)
        culprits = _unsafe_globals(source)
        reason = _unpickler_reason(str(exc))
        if not culprits and not _names_a_global(str(exc)):
            raise CheckpointReadError(
                f'Cannot read checkpoint {name}: it is damaged or not a '
                f'PyTorch checkpoint ({reason or exc})') from None
        what = '; '.join(filter(None, [
            ('not allowed: ' + ', '.join(culprits)) if culprits else '',
            reason]))
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint {name}: it pickles objects that '
            'are neither tensors nor the types MMEngine/MMAction2 '
            f'checkpoints contain ({what}). Nothing in it was run. Only load '
            'checkpoints you trust. If you trust this one and those objects '
            'are plain data, allow them by name: '
            'mmaction_aim.engine.allow_checkpoint_globals([...]) or, in a '
            "config, checkpoint_safe_globals = ['pkg.module.Type']. A "
            'checkpoint from elsewhere can also be re-saved as a plain state '
            'dict of tensors.') from None
    except (RuntimeError, EOFError, KeyError, ValueError, OSError,
            IndexError) as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])
        raise CheckpointReadError(
            f'Cannot read checkpoint {name}: it is truncated or damaged '
            f'({type(exc).__name__}: {first_line[0]})') from None


def _names_a_global(reason: str) -> bool:
    """Whether torch's weights-only refusal is about a global it met."""
    return any(marker in reason for marker in (
        'Unsupported global', 'not allowed', 'Unsupported class',
        'Trying to call reduce', 'Can only build Tensor',
        'Unsupported operand'))


# --------------------------------------------------------------------------
# One read per file: a checkpoint a tool has already read and checked is
# handed to MMEngine's load instead of being read a second time.
# --------------------------------------------------------------------------

_preloaded: Dict[str, Any] = {}
_preloaded_lock = threading.Lock()


def _preload_key(filename: str) -> str:
    filename = os.fspath(filename)
    return filename if '://' in filename else osp.realpath(
        osp.expanduser(filename))


@contextlib.contextmanager
def preloaded_checkpoint(filename: str, checkpoint: Any) -> Iterator[None]:
    """Within this block, the next load of ``filename`` returns
    ``checkpoint`` (already read) instead of reading the file again.

    Args:
        filename (str): The name MMEngine will be asked to load.
        checkpoint: What :func:`safe_load` returned for it.
    """
    key = _preload_key(filename)
    with _preloaded_lock:
        _preloaded[key] = checkpoint
    try:
        yield
    finally:
        with _preloaded_lock:
            _preloaded.pop(key, None)


def _take_preloaded(filename: str) -> Any:
    with _preloaded_lock:
        return _preloaded.pop(_preload_key(filename), None)


# --------------------------------------------------------------------------
# MMEngine's checkpoint schemes on the safe reader.
# --------------------------------------------------------------------------


def load_local(filename: str, map_location: Any = None) -> Any:
    """A local checkpoint file (MMEngine's scheme ``''``)."""
    preloaded = _take_preloaded(filename)
    if preloaded is not None:
        return preloaded
    return safe_load(osp.expanduser(filename), map_location=map_location)


def _download(url: str, model_dir: Optional[str] = None,
              progress: bool = False) -> str:
    """The local copy of ``url`` in PyTorch's hub cache (where MMEngine's
    ``load_from_http`` keeps it), downloaded by rank 0 first."""
    from mmengine.dist import get_dist_info
    from torch.hub import download_url_to_file, get_dir

    model_dir = model_dir or osp.join(get_dir(), 'checkpoints')
    cached = osp.join(model_dir, osp.basename(urlparse(url).path))
    rank, world_size = get_dist_info()
    if rank == 0 and not osp.exists(cached):
        os.makedirs(model_dir, exist_ok=True)
        download_url_to_file(url, cached, progress=progress)
    if world_size > 1:
        torch.distributed.barrier()
    return cached


def load_http(filename: str, map_location: Any = None,
              model_dir: Optional[str] = None,
              progress: bool = False) -> Any:
    """``http(s)://`` (MMEngine's ``load_from_http``), cached locally."""
    preloaded = _take_preloaded(filename)
    if preloaded is not None:
        return preloaded
    cached = _download(filename, model_dir, progress)
    return safe_load(cached, map_location=map_location,
                     name=f'{filename} (cached as {cached})')


def load_backend(filename: str, map_location: Any = None,
                 backend: str = 'petrel') -> Any:
    """``s3://`` / ``petrel://`` through MMEngine's file backend."""
    from mmengine.fileio import get_file_backend
    preloaded = _take_preloaded(filename)
    if preloaded is not None:
        return preloaded
    file_backend = get_file_backend(filename,
                                    backend_args={'backend': backend})
    with io.BytesIO(file_backend.get(filename)) as buffer:
        return safe_load(buffer, map_location=map_location, name=filename)


def load_pavi(filename: str, map_location: Any = None) -> Any:
    """``pavi://`` (MMEngine's ``load_from_pavi``)."""
    from tempfile import TemporaryDirectory
    try:
        from pavi import modelcloud
    except ImportError:
        raise ImportError('Please install pavi to load checkpoint from '
                          'modelcloud.') from None
    model = modelcloud.get(filename[len('pavi://'):])
    with TemporaryDirectory() as tmp_dir:
        downloaded = osp.join(tmp_dir, model.name)
        model.download(downloaded)
        return safe_load(downloaded, map_location=map_location,
                         name=filename)


def load_torchvision(filename: str, map_location: Any = None) -> Any:
    """``torchvision://NAME`` (and the deprecated ``modelzoo://NAME``)."""
    from mmengine.runner.checkpoint import get_torchvision_models
    name = filename.split('://', 1)[1]
    return load_http(get_torchvision_models()[name], map_location)


def load_openmmlab(filename: str, map_location: Any = None) -> Any:
    """``open-mmlab://NAME`` / ``openmmlab://NAME``."""
    from mmengine.runner.checkpoint import (_get_mmengine_home,
                                            get_deprecated_model_names,
                                            get_external_models)
    name = filename.split('://', 1)[1]
    name = get_deprecated_model_names().get(name, name)
    url = get_external_models()[name]
    if url.startswith(('http://', 'https://')):
        return load_http(url, map_location)
    return safe_load(osp.join(_get_mmengine_home(), url), map_location)


def load_mmcls(filename: str, map_location: Any = None) -> Any:
    """``mmcls://NAME``."""
    from mmengine.runner.checkpoint import (_process_mmcls_checkpoint,
                                            get_mmcls_models)
    url = get_mmcls_models()[filename[len('mmcls://'):]]
    return _process_mmcls_checkpoint(load_http(url, map_location))


_SAFE_SCHEMES = {
    '': load_local,
    ('http://', 'https://'): load_http,
    (r'(\S+\:)?s3://', r'(\S+\:)?petrel://'): load_backend,
    'pavi://': load_pavi,
    ('modelzoo://', 'torchvision://'): load_torchvision,
    ('open-mmlab://', 'openmmlab://'): load_openmmlab,
    'mmcls://': load_mmcls,
}


def install_safe_loaders() -> None:
    """Register the safe loaders for every scheme MMEngine ships.

    Covers ``load_from``, ``resume``, ``tools/test.py`` and ``init_cfg``
    pretrained weights, through MMEngine's public
    ``CheckpointLoader.register_scheme``. Idempotent. A scheme another
    package registers later reads with its own code (``torch.load``'s
    default, ``weights_only=True`` on the PyTorch releases this package
    supports).
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    for prefixes, loader in _SAFE_SCHEMES.items():
        CheckpointLoader.register_scheme(prefixes, loader, force=True)


def state_dict_of(checkpoint: Any) -> Dict[str, Any]:
    """The weights of a checkpoint (``checkpoint['state_dict']`` or itself),
    with DDP's ``module.`` prefix removed."""
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, dict) else checkpoint
    if not isinstance(state, dict):
        raise CheckpointReadError(
            f'No state dict in checkpoint (got {type(state).__name__})')
    return {re.sub(r'^module\.', '', k): v for k, v in state.items()}
