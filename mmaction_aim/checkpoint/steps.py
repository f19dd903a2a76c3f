"""Small pure steps between reading a file and loading a model.

Each takes and returns plain dicts and does no I/O, so every load (the
image model, a recognizer checkpoint, an adapter-only file, the tools)
composes the same ones: :func:`~.read.read_checkpoint`, then
:func:`unwrap`, :func:`strip_prefix` once, then the model's own conversion
and resizing, then a strict load.
"""
from typing import Any, Dict, Mapping, Sequence

import torch

from .errors import CheckpointReadError

StateDict = Dict[str, torch.Tensor]

#: Where training frameworks keep the weights inside a checkpoint, in the
#: order they are looked for: timm's EMA first (as ``timm`` loads
#: pretrained files), then MMEngine's / open_clip's / timm's own, and
#: Meta's original Hiera files' (``model_state``).
WEIGHT_KEYS = ('state_dict_ema', 'model_ema', 'state_dict', 'model',
               'module', 'model_state')


def unwrap(checkpoint: Any, keys: Sequence[str] = WEIGHT_KEYS,
           name: str = 'checkpoint') -> StateDict:
    """The state dict inside a checkpoint.

    Args:
        checkpoint: What :func:`~.read.read_checkpoint` returned.
        keys (Sequence[str]): Keys to look in, first found wins; the
            checkpoint itself when none is there.
        name (str): The file, for errors.

    Returns:
        dict: ``name -> tensor``.

    Raises:
        CheckpointReadError: No dict of tensors is found.
    """
    state = checkpoint
    if isinstance(checkpoint, Mapping):
        for key in keys:
            if isinstance(checkpoint.get(key), Mapping):
                state = checkpoint[key]
                break
    if not isinstance(state, Mapping) or not state or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointReadError(
            f'{name} holds no state dict of tensors (found '
            f'{type(state).__name__}'
            + (f' with keys {sorted(state)[:6]}' if isinstance(state, Mapping)
               else '') + ')')
    return dict(state)


def strip_prefix(state_dict: Mapping[str, Any], prefix: str = 'module.'
                 ) -> Dict[str, Any]:
    """Remove ``prefix`` from the keys that carry it (DDP's ``module.``),
    once."""
    return {k[len(prefix):] if k.startswith(prefix) else k: v
            for k, v in state_dict.items()}


def select_prefix(state_dict: Mapping[str, Any], prefix: str
                  ) -> Dict[str, Any]:
    """The entries under ``prefix``, without it."""
    return {k[len(prefix):]: v for k, v in state_dict.items()
            if k.startswith(prefix)}


def add_prefix(state_dict: Mapping[str, Any], prefix: str
               ) -> Dict[str, Any]:
    """Every key under ``prefix``."""
    return {prefix + k: v for k, v in state_dict.items()}


def to_float32(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """Floating-point tensors as float32 (the OpenAI CLIP release is
    float16); others unchanged."""
    return {k: v.float() if v.is_floating_point() and
            v.dtype != torch.float32 else v for k, v in state_dict.items()}


def meta_of(checkpoint: Any) -> Dict[str, Any]:
    """The ``meta`` dict of a checkpoint (empty if it has none)."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) else None
    return dict(meta) if isinstance(meta, Mapping) else {}
