"""Drop-path over a branch of video tokens, with a chosen sharing of masks.

Drop-path (stochastic depth) zeroes a residual branch for some units of the
batch and rescales the rest. For video tokens ``[B, T, N, D]`` the unit is a
choice: one mask per frame (``per=('clip', 'frame')``, what a per-sample
``DropPath`` gives on ``[B*T, N, D]``, as the original AIM code's
batch-first ImageNet ViT drew), or, as the original's CLIP ViT does by
running its blocks sequence-first (``[N, B*T, D]``, so that timm's
``DropPath`` draws along the token axis), one mask per token position shared
by every clip and frame of the batch (``per=('token',)``).
"""
from typing import Optional, Sequence

import torch
from torch import nn

#: The axes of ``[B, T, N, D]`` tokens a mask can be drawn along.
UNITS = ('clip', 'frame', 'token')


class BranchDropPath(nn.Module):
    """Drop-path of a residual branch of ``[B*T, ..., D]`` video tokens.

    One keep/drop draw is made for every combination of the axes named in
    ``per`` (``'clip'`` B, ``'frame'`` T, ``'token'`` the positions within a
    frame); the other axes share it. Kept values are divided by the keep
    probability. Identity in eval mode or at rate 0.

    Args:
        drop_prob (float): Probability of dropping the branch for a unit.
        num_frames (int): Time steps ``T`` per clip.
        per (Sequence[str]): The axes drawn along. Defaults to
            ``('clip', 'frame')``: one draw per frame, in the order a
            per-sample drop-path of ``[B*T, ...]`` draws them.
    """

    def __init__(self, drop_prob: float, num_frames: int,
                 per: Sequence[str] = ('clip', 'frame')) -> None:
        super().__init__()
        unknown = set(per) - set(UNITS)
        if unknown or not per:
            raise ValueError(f'per takes a non-empty subset of {UNITS}, '
                             f'got {tuple(per)}')
        self.drop_prob = float(drop_prob)
        self.num_frames = num_frames
        self.per = tuple(u for u in UNITS if u in per)

    def mask(self, b: int, n: int, like: torch.Tensor
             ) -> Optional[torch.Tensor]:
        """The scaled keep mask, broadcastable to ``[B, T, N, 1]``, or None
        where nothing is dropped (eval mode, rate 0)."""
        if not self.training or self.drop_prob == 0:
            return None
        keep = 1 - self.drop_prob
        shape = (b if 'clip' in self.per else 1,
                 self.num_frames if 'frame' in self.per else 1,
                 n if 'token' in self.per else 1, 1)
        mask = like.new_empty(shape).bernoulli_(keep)
        return mask.div_(keep) if keep > 0 else mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``[B*T, ..., D]`` with the branch dropped per unit."""
        shape = x.shape
        b = shape[0] // self.num_frames
        tokens = x.reshape(b, self.num_frames, -1, shape[-1])  # [B, T, N, D]
        mask = self.mask(b, tokens.shape[2], x)
        if mask is None:
            return x
        return (tokens * mask).view(shape)

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob:.3f}, per={self.per}'
