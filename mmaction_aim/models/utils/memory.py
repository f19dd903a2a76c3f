"""What a forward pass keeps for the backward pass, measured exactly."""
from typing import Callable, Dict

import torch
from torch import nn


def saved_activation_bytes(model: nn.Module, forward: Callable) -> int:
    """Bytes autograd keeps for the backward pass of ``forward()``.

    Distinct storages packed by
    :func:`torch.autograd.graph.saved_tensors_hooks`, ``model``'s parameters
    (and views of them, such as a transposed weight) excluded; a
    checkpoint's kept inputs are included. The activation memory of a
    training step, exactly and independent of the allocator.

    Args:
        model (nn.Module): The model whose parameters are not counted.
        forward (Callable): Runs the forward pass (its result is dropped).

    Returns:
        int: Bytes.
    """
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages: Dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in weights:
            storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        forward()
    return sum(storages.values())
