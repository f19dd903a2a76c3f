"""Reading the tensors of a TorchScript archive without running its code.

The OpenAI CLIP release (``ViT-B-16.pt``, ``ViT-L-14.pt``) is a TorchScript
archive. :func:`torch.jit.load` would run the archive's code, and
``torch.load(weights_only=True)`` refuses it; here it is read as what it is,
a zip of pickled module attributes and raw tensor storages, by a restricted
unpickler that resolves tensors, plain containers and TorchScript's own
``__torch__`` placeholders, and refuses every other global.
"""
import pickle
import zipfile
from typing import IO, Any, Dict, Union

import torch

from .errors import CheckpointReadError, UnsafeCheckpointError

# Storage classes a TorchScript archive names, and their dtypes.
_STORAGE_DTYPES = {
    'HalfStorage': torch.float16,
    'FloatStorage': torch.float32,
    'DoubleStorage': torch.float64,
    'BFloat16Storage': torch.bfloat16,
    'LongStorage': torch.int64,
    'IntStorage': torch.int32,
    'ShortStorage': torch.int16,
    'CharStorage': torch.int8,
    'ByteStorage': torch.uint8,
    'BoolStorage': torch.bool,
}


class _ScriptObject:
    """What a TorchScript module or class instance unpickles to: its state."""

    qualified_name = '__torch__'

    def __init__(self, *args):
        self.state = None

    def __setstate__(self, state):
        self.state = state


def _rebuild_tensor(storage: torch.Tensor, offset: int, size, stride,
                    *unused) -> torch.Tensor:
    return torch.as_strided(storage, tuple(size), tuple(stride), offset)


class _TorchScriptUnpickler(pickle.Unpickler):
    """Unpickles ``data.pkl`` of a TorchScript archive without running code.

    Only tensor rebuilding, plain containers and TorchScript's own
    ``__torch__`` placeholders are resolved; any other global is refused.
    """

    _ALLOWED = {
        ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor,
        ('torch._utils', '_rebuild_tensor'): _rebuild_tensor,
        ('collections', 'OrderedDict'): dict,
        ('builtins', 'set'): set,
    }

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str):
        super().__init__(file)
        self._archive = archive
        self._prefix = prefix
        self._storages: Dict[str, torch.Tensor] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == '__torch__' or module.startswith('__torch__.'):
            return type(name, (_ScriptObject, ),
                        {'qualified_name': f'{module}.{name}'})
        if module == 'torch' and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        raise UnsafeCheckpointError(f'{module}.{name}')

    def persistent_load(self, pid) -> torch.Tensor:
        kind, dtype, key = pid[0], pid[1], pid[2]
        if kind != 'storage' or not isinstance(dtype, torch.dtype):
            raise pickle.UnpicklingError(f'unexpected persistent id {pid!r}')
        if key not in self._storages:
            raw = bytearray(self._archive.read(f'{self._prefix}data/{key}'))
            self._storages[key] = torch.frombuffer(
                raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        return self._storages[key]


def _collect_tensors(obj: Any, prefix: str, out: Dict[str, torch.Tensor],
                     seen: set) -> None:
    """Walk unpickled module attributes into a flat ``name -> tensor`` dict."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, _ScriptObject):
        _collect_tensors(obj.state, prefix, out, seen)
    elif isinstance(obj, dict):
        for name, value in obj.items():
            if isinstance(name, str) and name != 'training':
                _collect_tensors(value, f'{prefix}{name}.', out, seen)
    elif isinstance(obj, torch.Tensor):
        out[prefix[:-1]] = obj.clone()


def is_torchscript_archive(names) -> bool:
    """Whether a zip's member ``names`` are a TorchScript archive's."""
    return any('/code/' in n for n in names) and any(
        n.endswith('/constants.pkl') for n in names)


def read_torchscript_archive(source: Union[str, IO[bytes]],
                             name: str) -> Dict[str, torch.Tensor]:
    """Every parameter and buffer of a TorchScript archive.

    Args:
        source (str | IO[bytes]): A file written by :func:`torch.jit.save`.
        name (str): The file's name, for errors.

    Returns:
        dict: ``name -> tensor`` in ``nn.Module.state_dict`` naming.

    Raises:
        UnsafeCheckpointError: The archive's data names anything but
            tensors and module attributes.
        CheckpointReadError: It is damaged.
    """
    try:
        with zipfile.ZipFile(source) as archive:
            data_pkl = [n for n in archive.namelist()
                        if n.endswith('/data.pkl') and n.count('/') == 1]
            if len(data_pkl) != 1:
                raise CheckpointReadError(
                    f'Cannot read {name}: a TorchScript archive without a '
                    'top-level data.pkl')
            prefix = data_pkl[0][:-len('data.pkl')]
            with archive.open(data_pkl[0]) as f:
                root = _TorchScriptUnpickler(f, archive, prefix).load()
    except UnsafeCheckpointError as exc:
        raise UnsafeCheckpointError(
            f'Refusing to load {name}: its TorchScript archive names '
            f'{exc}, which is neither a tensor nor a module attribute. '
            'Nothing in it was run.') from None
    except (zipfile.BadZipFile, pickle.UnpicklingError, EOFError, KeyError,
            ValueError, OSError) as exc:
        raise CheckpointReadError(
            f'Cannot read {name}: its TorchScript archive is damaged '
            f'({type(exc).__name__}: {exc})') from None
    state_dict: Dict[str, torch.Tensor] = {}
    _collect_tensors(root, '', state_dict, set())
    return state_dict
