"""Safe loading of MMEngine checkpoints, and checking them against a model.

Checkpoints are pickles. ``torch.load(weights_only=True)`` only rebuilds
tensors, containers and an explicit allow-list of types, so opening a
checkpoint cannot run code. MMEngine checkpoints also pickle their message hub
(``HistoryBuffer``) and numpy values; exactly those types are allow-listed
here (:data:`SAFE_CHECKPOINT_GLOBALS`), only for the duration of each load.
Anything else makes the load fail with :class:`UnsafeCheckpointError` before a
single object of that type is created. There is deliberately no switch to
turn this off.
"""
import io
import os
import os.path as osp
import pickle
import re
from collections import OrderedDict, defaultdict
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

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


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint pickles an object outside the allow-list; nothing ran."""


class CheckpointMismatchError(RuntimeError):
    """A checkpoint does not fit the model (keys or shapes differ)."""


def _unsafe_globals(source: Any) -> List[str]:
    """Names of the globals ``source`` pickles that are not allowed."""
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(source)
    except Exception:
        return []
    allowed = set()
    for entry in SAFE_CHECKPOINT_GLOBALS:
        obj, name = entry if isinstance(entry, tuple) else (entry, None)
        allowed.add(name or f'{obj.__module__}.{obj.__qualname__}')
    return sorted(set(found) - allowed)


def _unpickler_reason(message: str) -> str:
    """The specific reason in torch's weights-only error message, without
    torch's header, footer and advice to load unsafely."""
    for line in message.splitlines():
        line = line.replace('WeightsUnpickler error:', '').strip()
        if not line or line.startswith(('Weights only load failed',
                                        'Please file an issue',
                                        'Check the documentation')):
            continue
        return line.split(' Please use')[0].split(' If you')[0].strip()
    return ''


def safe_load(source: Any, map_location: Any = None) -> Any:
    """``torch.load`` restricted to tensors and the checkpoint allow-list.

    Args:
        source (str | os.PathLike | IO[bytes]): File name or open binary file.
        map_location: As for ``torch.load``. Defaults to None.

    Returns:
        The checkpoint object.

    Raises:
        UnsafeCheckpointError: The file pickles a type outside
            :data:`SAFE_CHECKPOINT_GLOBALS` (for instance code set to run on
            load); nothing in it was executed.
    """
    name = source if isinstance(source, (str, os.PathLike)) else getattr(
        source, 'name', '<buffer>')
    try:
        with torch.serialization.safe_globals(SAFE_CHECKPOINT_GLOBALS):
            return torch.load(source, map_location=map_location,
                              weights_only=True)
    except pickle.UnpicklingError as exc:
        if hasattr(source, 'seek'):
            source.seek(0)
        culprits = _unsafe_globals(source)
        reason = _unpickler_reason(str(exc))
        what = '; '.join(filter(None, [
            ('not allowed: ' + ', '.join(culprits)) if culprits else '',
            reason]))
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint {name}: it pickles objects that '
            'are neither tensors nor the types MMEngine/MMAction2 '
            f'checkpoints contain ({what}). Nothing in it was run. Only load '
            'checkpoints you trust; a checkpoint from elsewhere can be '
            're-saved as a plain state dict of tensors.') from None


# --------------------------------------------------------------------------
# MMEngine's checkpoint loaders, re-registered on the safe loader.
# --------------------------------------------------------------------------


def load_from_local_safe(filename: str, map_location: Any = None) -> Any:
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return safe_load(filename, map_location=map_location)


def load_from_http_safe(filename: str, map_location: Any = None,
                    model_dir: Optional[str] = None,
                    progress: bool = False) -> Any:
    from mmengine.dist import get_dist_info
    from torch.hub import download_url_to_file, get_dir
    from urllib.parse import urlparse

    model_dir = model_dir or osp.join(get_dir(), 'checkpoints')
    cached = osp.join(model_dir, osp.basename(urlparse(filename).path))
    rank, world_size = get_dist_info()
    if rank == 0 and not osp.exists(cached):
        os.makedirs(model_dir, exist_ok=True)
        download_url_to_file(filename, cached, progress=progress)
    if world_size > 1:
        torch.distributed.barrier()
    return safe_load(cached, map_location=map_location)


def load_from_backend_safe(filename: str, map_location: Any = None) -> Any:
    from mmengine.fileio import get
    return safe_load(io.BytesIO(get(filename)), map_location=map_location)


def _guarded(loader: Callable) -> Callable:
    """Run one of MMEngine's other loaders with ``torch.load`` made safe."""

    def load(filename, map_location=None, *args, **kwargs):
        original = torch.load

        def _torch_load(f, map_location=None, *a, **kw):
            return safe_load(f, map_location=map_location)

        torch.load = _torch_load
        try:
            return loader(filename, map_location, *args, **kwargs)
        finally:
            torch.load = original

    load.__name__ = loader.__name__
    return load


def install_safe_loaders() -> None:
    """Make MMEngine load every checkpoint through :func:`safe_load`.

    Covers ``load_from``, ``resume``, ``tools/test.py`` and ``init_cfg``
    pretrained weights (local files, http(s), and the ``s3://`` /
    ``petrel://`` / ``open-mmlab://`` ... schemes). Idempotent.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    schemes = CheckpointLoader._schemes
    if getattr(schemes.get(''), '_aim_safe', False):
        return
    for prefix, loader in list(schemes.items()):
        if prefix == '':
            safe = load_from_local_safe
        elif prefix in ('http://', 'https://'):
            safe = load_from_http_safe
        elif prefix in (r'(\S+\:)?s3://', r'(\S+\:)?petrel://'):
            safe = load_from_backend_safe
        else:
            safe = _guarded(loader)
        safe._aim_safe = True
        schemes[prefix] = safe


# --------------------------------------------------------------------------
# Checking a checkpoint against a model
# --------------------------------------------------------------------------


def state_dict_of(checkpoint: Any) -> Dict[str, Any]:
    """The weights of a checkpoint (``checkpoint['state_dict']`` or itself),
    with DDP's ``module.`` prefix removed."""
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, dict) else checkpoint
    if not isinstance(state, dict):
        raise CheckpointMismatchError(
            f'No state dict in checkpoint (got {type(state).__name__})')
    return {re.sub(r'^module\.', '', k): v for k, v in state.items()}


_SIZE_MISMATCH = re.compile(
    r'size mismatch for (\S+): copying a param with shape (\S+(?: \S+)*?) '
    r'from checkpoint, the shape in current model is (.+?)\.$')


def find_mismatches(model: torch.nn.Module, ckpt_state: Dict[str, Any],
                    ignore: Sequence[str] = ()) -> Dict[str, List[str]]:
    """Keys and shapes of a checkpoint that the model cannot take.

    The checkpoint is loaded into ``model`` non-strictly, through each
    module's own ``_load_from_state_dict``, so that whatever a model accepts
    on load counts as fitting: AIM resizes positional and temporal
    embeddings (an 8-frame checkpoint tested at 16 frames) and merges a
    trainable-only checkpoint onto its pre-trained image model. The model's
    weights are overwritten with the checkpoint's, as the load that follows
    would do anyway.

    Args:
        model (torch.nn.Module): The model (not a DDP wrapper).
        ckpt_state (dict): The checkpoint's state dict.
        ignore (Sequence[str]): Regular expressions (``re.search``) of keys
            allowed to be missing, unexpected or of another shape (a new
            classifier when fine-tuning). Defaults to ``()``.

    Returns:
        dict: ``missing``, ``unexpected`` and ``shape`` lists (the last as
        ``'key: checkpoint [..] vs model [..]'``).
    """
    def ignored(key):
        return any(re.search(p, key) for p in ignore)

    missing: List[str] = []
    unexpected: List[str] = []
    errors: List[str] = []

    def load(module, state, prefix=''):
        module._load_from_state_dict(state, prefix, {}, True, missing,
                                     unexpected, errors)
        for name, child in module._modules.items():
            if child is not None:
                child_prefix = f'{prefix}{name}.'
                load(child, {k: v for k, v in state.items()
                             if k.startswith(child_prefix)}, child_prefix)

    with torch.no_grad():
        load(model, dict(ckpt_state))
    shape = []
    for error in errors:
        match = _SIZE_MISMATCH.search(error.strip())
        if match is None:
            shape.append(error.strip())
            continue
        key, theirs, ours = match.groups()
        if not ignored(key):
            shape.append(f'{key}: checkpoint {_dims(theirs)} vs model '
                         f'{_dims(ours)}')
    return dict(missing=[k for k in missing if not ignored(k)],
                unexpected=[k for k in unexpected if not ignored(k)],
                shape=shape)


def _dims(torch_size: str) -> str:
    """``'torch.Size([3, 32])'`` -> ``'[3, 32]'``."""
    match = re.search(r'\[.*\]', torch_size)
    return match.group(0) if match else torch_size


def _listing(title: str, items: Iterable[str], limit: int = 15) -> str:
    items = list(items)
    lines = [f'{title} ({len(items)}):']
    lines += [f'  {item}' for item in items[:limit]]
    if len(items) > limit:
        lines.append(f'  ... and {len(items) - limit} more')
    return '\n'.join(lines)


def check_checkpoint_matches(model: torch.nn.Module, checkpoint: Any,
                             name: str = 'checkpoint',
                             ignore: Sequence[str] = ()) -> None:
    """Raise unless the model can take a checkpoint: same keys and shapes,
    up to what the model itself adapts on load (see :func:`find_mismatches`).

    Args:
        model (torch.nn.Module): The model (a DDP wrapper is looked through).
        checkpoint (dict): Loaded checkpoint or state dict.
        name (str): How to call it in the error. Defaults to 'checkpoint'.
        ignore (Sequence[str]): Key patterns exempt from the check.
            Defaults to ``()``.

    Raises:
        CheckpointMismatchError: Naming the missing and unexpected keys and
            the shapes that differ.
    """
    model = getattr(model, 'module', model)
    problems = find_mismatches(model, state_dict_of(checkpoint), ignore)
    if not any(problems.values()):
        return
    parts = [f'{name} does not fit {type(model).__name__}; was it saved '
             'from another architecture or config?']
    if problems['shape']:
        parts.append(_listing('Shapes that differ', problems['shape']))
    if problems['missing']:
        parts.append(_listing('Model keys missing from the checkpoint',
                              problems['missing']))
    if problems['unexpected']:
        parts.append(_listing('Checkpoint keys the model does not have',
                              problems['unexpected']))
    raise CheckpointMismatchError('\n'.join(parts))
