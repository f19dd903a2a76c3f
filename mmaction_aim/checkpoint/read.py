"""Reading any weights file, safely: the first step of every load.

:func:`read_checkpoint` is the one reader of the package (recognizer
checkpoints, image-model weights, adapter-only files; the tools). It tells
the format from the file's first bytes, never from its name:

* the zip that ``torch.save`` writes: what its pickle would import is listed
  first (PyTorch's ``get_unsafe_globals_in_checkpoint``, a static
  disassembly); anything off the allow-list (:mod:`.allow_list`) is refused
  before a single object is built; then ``torch.load(weights_only=True)``,
  always with that argument, never PyTorch's default;
* PyTorch's legacy format and bare pickles: the same, with our own
  disassembly (:mod:`.scan`);
* a TorchScript archive (the OpenAI CLIP release): its tensors, through a
  restricted unpickler (:mod:`.torchscript`);
* a ``.safetensors`` file, through ``safetensors``.

Anything else, and any damaged file, is a :class:`CheckpointReadError`
naming the file; a refused one an :class:`UnsafeCheckpointError` naming
what it would import. Neither message ever advises loading unsafely.
"""
import io
import os
import os.path as osp
import struct
import zipfile
from typing import IO, Any, Optional, Union

import torch

from .allow_list import allow_list_in_effect, allowed_names
from .errors import CheckpointReadError, UnsafeCheckpointError
from .scan import is_tensor_rebuilding, pickle_globals
from .torchscript import is_torchscript_archive, read_torchscript_archive

Source = Union[str, os.PathLike, IO[bytes]]

_ZIP_MAGIC = (b'PK\x03\x04', b'PK\x05\x06')
_PICKLE_PROTOCOL = 0x80  # the first byte of a pickle of protocol >= 2


def _refusal(name: str, culprits) -> UnsafeCheckpointError:
    return UnsafeCheckpointError(
        f'Refusing to load checkpoint {name}: it pickles objects that are '
        'neither tensors nor the types MMEngine/MMAction2 checkpoints '
        f'contain (not allowed: {", ".join(sorted(culprits))}). Nothing in '
        'it was run. If you trust the file and those objects are plain-data '
        'classes, allow them by name: '
        'mmaction_aim.checkpoint.allow_checkpoint_globals([...]) or, in a '
        "config, checkpoint_safe_globals = ['pkg.module.Type']; or re-save "
        'it as a plain state dict of tensors.')


def _open(source: Source, name: str) -> IO[bytes]:
    """A seekable binary stream of ``source`` (local path, URL, stream)."""
    if not isinstance(source, (str, os.PathLike)):
        return source
    path = os.fspath(source)
    if '://' in path and not path.startswith('file://'):
        from mmengine import fileio
        try:
            return io.BytesIO(fileio.get(path))
        except FileNotFoundError:
            raise
        except Exception as exc:  # each file backend raises its own
            raise CheckpointReadError(
                f'Cannot read checkpoint {name}: {type(exc).__name__}: '
                f'{exc}') from None
    path = osp.expanduser(path)
    if not osp.isfile(path):
        if osp.isdir(path):
            raise IsADirectoryError(21, 'is a directory, not a checkpoint',
                                    path)
        raise FileNotFoundError(2, 'checkpoint does not exist', path)
    return open(path, 'rb')


def file_kind(stream: IO[bytes]) -> str:
    """The format of a stream, from its first bytes (position kept).

    Returns:
        str: ``'torch'`` (torch.save's zip), ``'torchscript'``, ``'npz'``,
        ``'zip'`` (another zip), ``'damaged zip'``, ``'pickle'``,
        ``'safetensors'``, ``'empty'`` or ``'unknown'``.
    """
    position = stream.tell()
    head = stream.read(16)
    stream.seek(position)
    if not head:
        return 'empty'
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(stream) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            return 'damaged zip'
        finally:
            stream.seek(position)
        if is_torchscript_archive(names):
            return 'torchscript'
        if names and all(n.endswith('.npy') for n in names):
            return 'npz'
        if any(n.endswith('/data.pkl') or n == 'data.pkl' for n in names):
            return 'torch'
        return 'zip'
    if head[0] == _PICKLE_PROTOCOL:
        return 'pickle'
    if len(head) >= 9 and head[8:9] == b'{':
        # safetensors: an 8-byte little-endian header length, then the JSON
        # header, which must fit in the file (a random file starting so is
        # not taken for a damaged safetensors one).
        (size, ) = struct.unpack('<Q', head[:8])
        end = stream.seek(0, 2)
        stream.seek(position)
        return 'safetensors' if 1 < size <= end - position - 8 else \
            'unknown'
    return 'unknown'


def _unsafe_globals(stream: IO[bytes], kind: str, name: str) -> set:
    """The globals the file would import that the allow-list lacks."""
    position = stream.tell()
    try:
        if kind == 'torch':
            with allow_list_in_effect():
                return set(torch.serialization.
                           get_unsafe_globals_in_checkpoint(stream))
        return {name for name in pickle_globals(stream) - allowed_names()
                if not is_tensor_rebuilding(name)}
    except Exception as exc:  # a damaged zip or pickle, found structurally
        raise CheckpointReadError(
            f'Cannot read checkpoint {name}: it is truncated or damaged '
            f'({type(exc).__name__}: {_first_line(exc)})') from None
    finally:
        stream.seek(position)


def _first_line(exc: BaseException) -> str:
    """The first line of an error, never one advising unsafe loading."""
    for line in str(exc).strip().splitlines():
        if 'weights_only' in line or 'trust' in line.lower():
            return 'its pickle cannot be rebuilt as data'
        if line.strip():
            return line.strip()
    return type(exc).__name__


def _load_pickled(stream: IO[bytes], kind: str, name: str,
                  map_location: Any) -> Any:
    culprits = _unsafe_globals(stream, kind, name)
    if culprits:
        raise _refusal(name, culprits)
    try:
        with allow_list_in_effect():
            return torch.load(stream, map_location=map_location,
                              weights_only=True)
    except UnsafeCheckpointError as exc:
        raise _refusal(name, [str(exc)]) from None
    except Exception as exc:  # torch raises many types for a broken file
        raise _load_failure(name, exc) from None


#: What torch.load's errors say where the file itself is broken.
_DAMAGE = ('PytorchStreamReader', 'unexpected EOF', 'corrupt', 'truncated',
           'invalid load key', 'failed finding central directory',
           'Ran out of input')


def _load_failure(name: str, exc: BaseException) -> CheckpointReadError:
    """``torch.load``'s failure as one sentence: a broken file is called
    so; any other cause (a device that is not here, memory, a dtype) is
    given as it is."""
    text = _first_line(exc)
    broken = isinstance(exc, (EOFError, zipfile.BadZipFile)) or any(
        word in text for word in _DAMAGE)
    why = 'it is truncated or damaged' if broken else 'torch.load failed'
    return CheckpointReadError(f'Cannot read checkpoint {name}: {why} '
                               f'({type(exc).__name__}: {text})')


def _load_safetensors(stream: IO[bytes], name: str) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load
    try:
        return load(stream.read())
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointReadError(
            f'Cannot read {name}: a damaged or truncated safetensors file '
            f'({type(exc).__name__}: {_first_line(exc)})') from None


def read_checkpoint(source: Source, map_location: Any = 'cpu',
                    name: Optional[str] = None) -> Any:
    """Read a checkpoint or weights file without running anything in it.

    Args:
        source (str | os.PathLike | IO[bytes]): A local path, a URL that
            MMEngine's file backends read (``http(s)://``, ``s3://``, ...),
            or an open binary file.
        map_location: As for ``torch.load``. Defaults to ``'cpu'``.
        name (str, optional): What to call the file in errors. Defaults to
            its path.

    Returns:
        The checkpoint: what ``torch.save`` saved, or a state dict
        (TorchScript archives, safetensors files).

    Raises:
        FileNotFoundError: No such file.
        CheckpointReadError: Empty, truncated, damaged, or not a checkpoint.
        UnsafeCheckpointError: It would import something off the
            allow-list (code set to run on load, for instance); nothing in
            it was run.
    """
    if name is None:
        name = (os.fspath(source) if isinstance(source, (str, os.PathLike))
                else getattr(source, 'name', '<in-memory file>'))
    stream = _open(source, name)
    try:
        kind = file_kind(stream)
        if kind in ('torch', 'pickle'):
            return _load_pickled(stream, kind, name, map_location)
        if kind == 'torchscript':
            return read_torchscript_archive(stream, name)
        if kind == 'safetensors':
            return _load_safetensors(stream, name)
        why = {
            'empty': 'the file is empty',
            'npz': ('it is a NumPy .npz archive (JAX / big_vision weights), '
                    "which only a timm image model's pretrained= reads"),
            'zip': 'it is a zip archive but not a PyTorch checkpoint',
            'damaged zip': ('it is truncated or damaged (an incomplete zip '
                            'archive, as torch.save writes)'),
        }.get(kind, 'it is not a PyTorch checkpoint (neither the zip archive '
                    'torch.save writes, a pickle, a TorchScript archive nor '
                    'a safetensors file)')
        raise CheckpointReadError(f'Cannot read checkpoint {name}: {why}')
    finally:
        if stream is not source:
            stream.close()
