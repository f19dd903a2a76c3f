"""Whether a checkpoint fits a model, decided before anything is loaded.

MMEngine loads ``load_from`` / ``--resume`` / test checkpoints non-strictly
and only logs mismatched keys, so a checkpoint of another architecture
silently leaves the model at its initialisation. :func:`find_mismatches`
answers the question with PyTorch's own ``load_state_dict``, run on a
weightless twin of the model (its parameters on the ``meta`` device): the
keys it reports missing or unexpected, and the shapes each module sees
after its own load-time adaptation (AIM resizes the temporal embedding of a
checkpoint saved at another frame count). The model itself is not touched.
"""
import copy
import itertools
import re
from typing import Any, Dict, Iterable, List, Sequence

import torch
from torch import nn

from .checkpoint import state_dict_of


class CheckpointMismatchError(RuntimeError):
    """A checkpoint does not fit the model (keys or shapes differ)."""


def _weightless_twin(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` whose parameters and buffers are ``meta``
    tensors of the same shapes (nothing is allocated or copied)."""
    memo: Dict[int, Any] = {}
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        meta = torch.empty_like(tensor, device='meta')
        if isinstance(tensor, nn.Parameter):
            meta = nn.Parameter(meta, requires_grad=tensor.requires_grad)
        memo[id(tensor)] = meta
    return copy.deepcopy(model, memo)


def _own_tensors(module: nn.Module) -> Iterable:
    """A module's own parameters and persistent buffers, by local name."""
    yield from module._parameters.items()
    for name, buffer in module._buffers.items():
        if name not in module._non_persistent_buffers_set:
            yield name, buffer


def find_mismatches(model: nn.Module, ckpt_state: Dict[str, Any],
                    ignore: Sequence[str] = ()) -> Dict[str, List[str]]:
    """Keys and shapes of a checkpoint that the model cannot take.

    Args:
        model (nn.Module): The model (not a DDP wrapper). Left unchanged.
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

    twin = _weightless_twin(model)
    shape_keys: List[str] = []
    shapes: List[str] = []

    def compare_shapes(module, state_dict, prefix, *args):
        # Runs inside each module's load, after its own adaptation of the
        # state dict; a differing tensor is set aside so that PyTorch
        # reports it as missing rather than failing the whole load.
        for name, tensor in _own_tensors(module):
            key = prefix + name
            if tensor is None or key not in state_dict:
                continue
            theirs = state_dict[key]
            if not isinstance(theirs, torch.Tensor):
                continue
            if tensor.dim() == 0 and theirs.shape == (1, ):
                continue  # PyTorch loads this (old checkpoints)
            if theirs.shape != tensor.shape:
                shape_keys.append(key)
                shapes.append(f'{key}: checkpoint {list(theirs.shape)} vs '
                              f'model {list(tensor.shape)}')
                del state_dict[key]

    handles = [m.register_load_state_dict_pre_hook(compare_shapes)
               for m in twin.modules()]
    try:
        result = twin.load_state_dict(dict(ckpt_state), strict=False,
                                      assign=True)
    finally:
        for handle in handles:
            handle.remove()
    set_aside = set(shape_keys)
    return dict(
        missing=[k for k in result.missing_keys
                 if k not in set_aside and not ignored(k)],
        unexpected=[k for k in result.unexpected_keys if not ignored(k)],
        shape=[s for k, s in zip(shape_keys, shapes, strict=True)
               if not ignored(k)])


def _listing(title: str, items: Iterable[str], limit: int = 15) -> str:
    items = list(items)
    lines = [f'{title} ({len(items)}):']
    lines += [f'  {item}' for item in items[:limit]]
    if len(items) > limit:
        lines.append(f'  ... and {len(items) - limit} more')
    return '\n'.join(lines)


def check_checkpoint_matches(model: nn.Module, checkpoint: Any,
                             name: str = 'checkpoint',
                             ignore: Sequence[str] = ()) -> None:
    """Raise unless the model can take a checkpoint: same keys and shapes,
    up to what the model itself adapts on load (see :func:`find_mismatches`).

    Args:
        model (nn.Module): The model (a DDP wrapper is looked through).
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
