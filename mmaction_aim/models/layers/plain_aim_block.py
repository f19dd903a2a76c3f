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
from typing import Optional

import torch
import torch.nn.functional as F
from timm.layers import DropPath
from torch import nn

from .adapter import Adapter


class PlainQuickGELU(nn.Module):
    """``x * sigmoid(1.702 x)``, as CLIP writes it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class PlainAdapter(Adapter):
    """:class:`~.adapter.Adapter`'s parameters, computed by plain modules."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc2(F.gelu(self.fc1(x)))
        return x + out if self.skip_connect else out


class PlainAIMBlock(nn.Module):
    """AIM's block, written straightforwardly (see the module docstring).

    Args:
        embed_dims (int): Width ``D``.
        num_heads (int): Attention heads.
        num_frames (int): Frames ``T`` per clip.
        temporal (bool): Add temporal adaptation. Defaults to True.
        spatial (bool): Add spatial adaptation. Defaults to True.
        joint (bool): Add joint adaptation. Defaults to True.
        num_tadapter (int): 1, or 2 for ``temporal_adapter_in``.
            Defaults to 1.
        adapter_scale (float): Scale of the joint adapter. Defaults to 0.5.
        adapter_mlp_ratio (float): Adapter bottleneck ratio.
            Defaults to 0.25.
        drop_path (float): Drop-path rate of the temporal and joint
            branches. Defaults to 0.
        recompute (Sequence[str]): Accepted for the same signature as
            :class:`~.aim_block.AIMBlock`; nothing is recomputed here.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 num_frames: int,
                 temporal: bool = True,
                 spatial: bool = True,
                 joint: bool = True,
                 num_tadapter: int = 1,
                 adapter_scale: float = 0.5,
                 adapter_mlp_ratio: float = 0.25,
                 drop_path: float = 0.,
                 recompute=()) -> None:
        super().__init__()
        self.num_frames = num_frames
        self.adapter_scale = adapter_scale
        self.recompute = frozenset()
        self.ln_1 = nn.LayerNorm(embed_dims)
        self.attn = nn.MultiheadAttention(embed_dims, num_heads,
                                          batch_first=True)
        self.ln_2 = nn.LayerNorm(embed_dims)
        self.mlp = nn.Sequential(
            OrderedDict(c_fc=nn.Linear(embed_dims, 4 * embed_dims),
                        gelu=PlainQuickGELU(),
                        c_proj=nn.Linear(4 * embed_dims, embed_dims)))

        def adapter(enabled: bool, skip: bool) -> Optional[PlainAdapter]:
            return PlainAdapter(embed_dims, adapter_mlp_ratio,
                                skip_connect=skip) if enabled else None

        self.temporal_adapter_in = adapter(temporal and num_tadapter == 2,
                                           skip=True)
        self.temporal_adapter = adapter(temporal, skip=False)
        self.spatial_adapter = adapter(spatial, skip=True)
        self.joint_adapter = adapter(joint, skip=False)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else \
            nn.Identity()

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
