"""Parameter counting."""
from typing import Tuple

from torch import nn


def count_parameters(model: nn.Module) -> Tuple[int, int]:
    """Count trainable and total parameters (works on the meta device).

    Args:
        model (nn.Module): Any module.

    Returns:
        tuple[int, int]: ``(trainable, total)``.
    """
    trainable = total = 0
    for param in model.parameters():
        total += param.numel()
        if param.requires_grad:
            trainable += param.numel()
    return trainable, total


def trainable_summary(model: nn.Module) -> str:
    """``trainable params: N || all params: M || trainable%: P``."""
    trainable, total = count_parameters(model)
    percent = 100 * trainable / max(total, 1)
    return (f'trainable params: {trainable:,d} || all params: {total:,d} || '
            f'trainable%: {percent:.4f}')
