"""What a pickle would import, found by reading it, not by running it.

PyTorch's ``get_unsafe_globals_in_checkpoint`` answers this for the zip
files ``torch.save`` writes; :func:`pickle_globals` answers it for bare
pickles (PyTorch's legacy format, ``pickle.dump`` files), by disassembling
every opcode (:mod:`pickletools`), including protocol 4's ``STACK_GLOBAL``
whose names come from earlier string pushes.
"""
import pickletools
from typing import IO, List, Optional, Set

#: The name recorded for a ``STACK_GLOBAL`` whose operands are not plain
#: strings pushed earlier (never allowed).
UNRESOLVED = '<a global built at unpickling time>'

_STRING_OPS = {'SHORT_BINUNICODE', 'BINUNICODE', 'BINUNICODE8', 'UNICODE',
               'SHORT_BINSTRING', 'BINSTRING', 'STRING'}


def _globals_of_one_pickle(stream: IO[bytes]) -> Set[str]:
    """The globals one pickle names; the stream is left after its STOP."""
    names: Set[str] = set()
    pushed: List[Optional[str]] = []  # recent pushes: str or None (other)
    memo = {}
    for opcode, arg, _ in pickletools.genops(stream):
        name = opcode.name
        if name in ('GLOBAL', 'INST'):
            module, qualname = arg.split(' ', 1)
            names.add(f'{module}.{qualname}')
            pushed.append(None)
        elif name == 'STACK_GLOBAL':
            module, qualname = (pushed[-2:] if len(pushed) >= 2 else
                                [None, None])
            names.add(f'{module}.{qualname}' if isinstance(module, str) and
                      isinstance(qualname, str) else UNRESOLVED)
            pushed.append(None)
        elif name in _STRING_OPS:
            pushed.append(arg)
        elif name in ('BINPUT', 'LONG_BINPUT', 'PUT'):
            memo[arg] = pushed[-1] if pushed else None
        elif name == 'MEMOIZE':
            memo[len(memo)] = pushed[-1] if pushed else None
        elif name in ('BINGET', 'LONG_BINGET', 'GET'):
            pushed.append(memo.get(arg))
        elif opcode.stack_after:
            pushed.append(None)
    return names


def pickle_globals(stream: IO[bytes]) -> Set[str]:
    """Every global the pickles at the start of ``stream`` name.

    PyTorch's legacy format is several pickles in a row (magic number,
    protocol, system info, the object, its storage keys) followed by raw
    storage bytes: pickles are read until the bytes stop being one.

    Args:
        stream (IO[bytes]): A binary stream at the first pickle.

    Returns:
        set[str]: ``module.qualname`` of each global.

    Raises:
        ValueError: The first pickle cannot be disassembled (a damaged or
            truncated file).
    """
    names: Set[str] = set()
    count = 0
    while True:
        start = stream.tell()
        if not stream.read(1):
            break
        stream.seek(start)
        try:
            names |= _globals_of_one_pickle(stream)
        except Exception as exc:  # pickletools raises ValueError and others
            if count == 0:
                raise ValueError(f'not a readable pickle ({exc})') from None
            break  # the raw storage data after the pickles
        count += 1
    return names


def is_tensor_rebuilding(name: str) -> bool:
    """Whether a global a pickle names is one of PyTorch's tensor
    ingredients (``torch._utils._rebuild_*``, a storage class, ``torch.Size``,
    ``torch.device``, a dtype), which ``torch.load(weights_only=True)``
    rebuilds itself; for legacy files, whose pickles PyTorch's own static
    scan does not read."""
    import torch
    module, _, attr = name.rpartition('.')
    if module == 'torch._utils':
        return attr.startswith('_rebuild_')
    if module != 'torch':
        return False
    obj = getattr(torch, attr, None)
    return isinstance(obj, torch.dtype) or obj in (torch.Size, torch.device) \
        or (isinstance(obj, type) and attr.endswith('Storage'))
