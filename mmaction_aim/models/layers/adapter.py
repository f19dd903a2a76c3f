"""AIM's bottleneck adapter."""
import torch
from torch import nn
from torch.nn.init import trunc_normal_

from .frozen_ops import adapter_mlp


class Adapter(nn.Module):
    """Bottleneck adapter ``fc1 -> GELU -> fc2``, optionally with a skip
    (exact erf GELU, not CLIP's QuickGELU, applied inside
    :func:`~.frozen_ops.adapter_mlp`).

    The output projection ``fc2`` starts at zero (:meth:`init_weights`), so a
    fresh adapter without skip outputs zeros and one with skip is the
    identity: inserting adapters into a pre-trained block leaves it unchanged.

    Args:
        embed_dims (int): Input and output width ``D``.
        mlp_ratio (float): Bottleneck width as a fraction of ``D``.
            Defaults to 0.25.
        skip_connect (bool): Return ``x + fc2(...)`` instead of ``fc2(...)``.
            Defaults to True.
    """

    def __init__(self,
                 embed_dims: int,
                 mlp_ratio: float = 0.25,
                 skip_connect: bool = True) -> None:
        super().__init__()
        hidden_dims = int(embed_dims * mlp_ratio)
        if hidden_dims < 1:
            raise ValueError(f'adapter bottleneck of {embed_dims} * '
                             f'{mlp_ratio} has no units')
        self.skip_connect = skip_connect
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.fc2 = nn.Linear(hidden_dims, embed_dims)
        self.init_weights()

    def init_weights(self) -> None:
        """Truncated-normal ``fc1``; zero ``fc2`` (a no-op adapter)."""
        trunc_normal_(self.fc1.weight, std=0.02)
        nn.init.zeros_(self.fc1.bias)
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the adapter to the last dimension of ``x`` ([..., D])."""
        # fc2(act(fc1(x))), keeping only x and fc1(x) for the backward pass.
        out = adapter_mlp(x, self.fc1, self.fc2)
        return x + out if self.skip_connect else out

    def extra_repr(self) -> str:
        return f'skip_connect={self.skip_connect}'
