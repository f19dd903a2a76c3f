"""A straightforward AIM block: the baseline of the performance work.

The same function as :class:`~.aim_block.AIMBlock`, with the same parameter
names, written the plain way: :class:`torch.nn.MultiheadAttention`, copies to
regroup the tokens by time, CLIP's QuickGELU as ``x * sigmoid(1.702 x)``, an
adapter of plain modules, and autograd keeping whatever each operation keeps.
It is what :class:`~.aim_block.AIMBlock` is measured against
(``tools/analysis/benchmark.py``, variant ``plain``) and checked against (the
gradients of both, ``tests/models/test_plain_baseline.py``); it is not meant
for training.
"""
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .adapter import Adapter
from .aim_block import AIMBlock


class PlainQuickGELU(nn.Module):
    """``x * sigmoid(1.702 x)``, as CLIP writes it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class PlainAdapter(Adapter):
    """:class:`~.adapter.Adapter`'s parameters, computed by plain modules."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc2(F.gelu(self.fc1(x)))
        return x + out if self.skip_connect else out


class PlainAIMBlock(AIMBlock):
    """AIM's block, written straightforwardly (see the module docstring).

    Takes :class:`~.aim_block.AIMBlock`'s arguments and builds the same
    parameters under the same names, from plain modules; ``recompute`` is
    accepted and ignored: nothing is recomputed here.
    """

    adapter_cls = PlainAdapter

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.recompute = frozenset()

    @staticmethod
    def build_attention(embed_dims: int, num_heads: int) -> nn.Module:
        return nn.MultiheadAttention(embed_dims, num_heads, batch_first=True)

    @staticmethod
    def build_mlp(embed_dims: int, act: str = 'quick_gelu') -> nn.Module:
        gelu = PlainQuickGELU() if act == 'quick_gelu' else nn.GELU()
        return nn.Sequential(
            OrderedDict(c_fc=nn.Linear(embed_dims, 4 * embed_dims),
                        gelu=gelu,
                        c_proj=nn.Linear(4 * embed_dims, embed_dims)))

    def _attention(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x, x, x, need_weights=False)[0]

    def forward(self, x: torch.Tensor, recompute: bool = True) -> torch.Tensor:
        """``[B*T, N, D]`` -> ``[B*T, N, D]``."""
        bt, n, d = x.shape
        t = self.num_frames
        b = bt // t
        if self.temporal_adapter is not None:
            # (b t) n d -> (b n) t d: a copy, attention along t.
            xt = x.view(b, t, n, d).permute(0, 2, 1, 3).reshape(b * n, t, d)
            xt = self.ln_1(xt)
            if self.temporal_adapter_in is not None:
                xt = self.temporal_adapter_in(xt)
            xt = self.temporal_adapter(self._attention(xt))
            # (b n) t d -> (b t) n d: another copy.
            xt = xt.view(b, n, t, d).permute(0, 2, 1, 3).reshape(bt, n, d)
            x = x + self.drop_path(xt)
        h = self._attention(self.ln_1(x))
        if self.spatial_adapter is not None:
            h = self.spatial_adapter(h)
        x = x + h
        h = self.ln_2(x)
        if self.joint_adapter is None:
            return x + self.mlp(h)
        return x + self.mlp(h) + self.drop_path(
            self.adapter_scale * self.joint_adapter(h))
