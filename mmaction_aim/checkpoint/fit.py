"""Whether a state dict fits a model, decided before anything is loaded.

MMEngine loads ``load_from`` / ``--resume`` / test checkpoints non-strictly
and only logs mismatched keys, so a checkpoint of another architecture
silently leaves the model at its initialisation. :func:`find_mismatches`
compares the keys and shapes of a state dict (after the pipeline's
conversion and resizing steps) with the model's own ``state_dict()``; the
model is not touched, and on the ``meta`` device nothing is allocated.
"""
import re
from typing import Any, Dict, Iterable, List, Mapping, Sequence

import torch
from torch import nn

from .errors import CheckpointMismatchError


def find_mismatches(model: nn.Module, state_dict: Mapping[str, Any],
                    ignore: Sequence[str] = ()) -> Dict[str, List[str]]:
    """Keys and shapes of a state dict that the model cannot take.

    Args:
        model (nn.Module): The model (not a DDP wrapper). Left unchanged.
        state_dict (Mapping): The state dict it would be given.
        ignore (Sequence[str]): Regular expressions (``re.search``) of keys
            allowed to be missing, unexpected or of another shape (a new
            classifier when fine-tuning). Defaults to ``()``.

    Returns:
        dict: ``missing``, ``unexpected`` and ``shape`` lists (the last as
        ``'key: checkpoint [..] vs model [..]'``).
    """
    def kept(key: str) -> bool:
        return not any(re.search(p, key) for p in ignore)

    ours = model.state_dict(keep_vars=True)
    shape = []
    for key, theirs in state_dict.items():
        mine = ours.get(key)
        if (mine is None or not isinstance(theirs, torch.Tensor)
                or not kept(key)):
            continue
        if mine.dim() == 0 and theirs.shape == (1, ):
            continue  # PyTorch loads this (old checkpoints)
        if theirs.shape != mine.shape:
            shape.append(f'{key}: checkpoint {list(theirs.shape)} vs model '
                         f'{list(mine.shape)}')
    return dict(
        missing=[k for k in ours if k not in state_dict and kept(k)],
        unexpected=[k for k in state_dict if k not in ours and kept(k)],
        shape=shape)


def _listing(title: str, items: Iterable[str], limit: int = 15) -> str:
    items = list(items)
    lines = [f'{title} ({len(items)}):']
    lines += [f'  {item}' for item in items[:limit]]
    if len(items) > limit:
        lines.append(f'  ... and {len(items) - limit} more')
    return '\n'.join(lines)


def check_fits(model: nn.Module, state_dict: Mapping[str, Any],
               name: str = 'checkpoint', ignore: Sequence[str] = ()) -> None:
    """Raise unless the model can take ``state_dict`` strictly.

    Args:
        model (nn.Module): The model (a DDP wrapper is looked through).
        state_dict (Mapping): The state dict, as the model will be given it.
        name (str): How to call it in the error. Defaults to 'checkpoint'.
        ignore (Sequence[str]): Key patterns exempt from the check.
            Defaults to ``()``.

    Raises:
        CheckpointMismatchError: Naming the missing and unexpected keys and
            the shapes that differ.
    """
    model = getattr(model, 'module', model)
    problems = find_mismatches(model, state_dict, ignore)
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
