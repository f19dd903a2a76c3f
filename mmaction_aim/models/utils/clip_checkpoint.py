"""Reading CLIP weights from the files they are released in, safely.

Supported, without network access and without running any code from the file:

* the OpenAI CLIP release (``ViT-B-16.pt``, ``ViT-L-14.pt``): a TorchScript
  archive. It is read as a zip of pickled module attributes and raw tensor
  storages by a restricted unpickler; :func:`torch.jit.load`, which would
  run the archive's code, is never called;
* a plain state dict of a full CLIP model (``visual.*`` keys) or of the visual
  tower alone, e.g. the file written by ``tools/convert/convert_clip.py``;
* an open_clip training checkpoint (``{'state_dict': ..., 'epoch': ...}``,
  keys possibly under ``module.``).

Plain files are read with ``torch.load(weights_only=True)``.
"""
import os.path as osp
import pickle
import zipfile
from typing import Any, Dict

import torch

from .convert import clip_to_aim

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
        raise pickle.UnpicklingError(
            f'Refusing to load `{module}.{name}` from a TorchScript archive: '
            'only module attributes and tensors are read.')

    def persistent_load(self, pid) -> torch.Tensor:
        kind, dtype, key = pid[0], pid[1], pid[2]
        if kind != 'storage' or not isinstance(dtype, torch.dtype):
            raise pickle.UnpicklingError(f'Unexpected persistent id {pid!r}')
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


def is_torchscript_archive(path: str) -> bool:
    """Whether ``path`` is a TorchScript archive (zip with ``code/``)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    return any('/code/' in n for n in names) and any(
        n.endswith('/constants.pkl') for n in names)


def load_torchscript_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """Read every parameter and buffer of a TorchScript archive.

    Args:
        path (str): A file written by :func:`torch.jit.save`, such as the
            OpenAI CLIP release.

    Returns:
        dict: ``name -> tensor`` in ``nn.Module.state_dict`` naming.
    """
    with zipfile.ZipFile(path) as archive:
        data_pkl = [n for n in archive.namelist() if n.endswith('/data.pkl')
                    and n.count('/') == 1]
        if len(data_pkl) != 1:
            raise ValueError(f'{path} is not a TorchScript archive: no '
                             'top-level data.pkl')
        prefix = data_pkl[0][:-len('data.pkl')]
        with archive.open(data_pkl[0]) as f:
            root = _TorchScriptUnpickler(f, archive, prefix).load()
    state_dict: Dict[str, torch.Tensor] = {}
    _collect_tensors(root, '', state_dict, set())
    return state_dict


def load_state_dict_file(path: str) -> Dict[str, torch.Tensor]:
    """Read a state dict from any supported CLIP file (see module doc).

    Args:
        path (str): The file.

    Returns:
        dict: The flat state dict as stored (all towers, original names).
    """
    from ...engine.checkpoint import safe_load
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'CLIP weights {path} not found. The configs start from OpenAI\'s '
            'CLIP release: download ViT-B-16.pt (ViT-L-14.pt, ...) from the '
            'URLs in openai/CLIP (clip/clip.py) and place it there, or point '
            'model.backbone.pretrained at any CLIP or open_clip file; '
            'tools/convert/convert_clip.py writes a small visual-only copy. '
            'See docs/model.md, "CLIP weights".')
    if is_torchscript_archive(path):
        return load_torchscript_state_dict(path)
    checkpoint = safe_load(path, map_location='cpu')
    if isinstance(checkpoint, dict) and isinstance(
            checkpoint.get('state_dict'), dict):
        checkpoint = checkpoint['state_dict']
    if not isinstance(checkpoint, dict) or not all(
            isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise ValueError(f'{path} does not hold a state dict of tensors')
    return checkpoint


def load_clip_visual_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """Load CLIP's visual tower from ``path`` in :class:`AIMViT`'s layout.

    Args:
        path (str): The OpenAI TorchScript release, a CLIP / open_clip state
            dict or checkpoint, or a visual-only state dict.

    Returns:
        dict: float32 tensors under AIMViT's (= CLIP's visual) names.
    """
    return clip_to_aim(load_state_dict_file(path))
