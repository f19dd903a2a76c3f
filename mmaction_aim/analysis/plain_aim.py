"""A straightforward AIM block: the yardstick of the performance work.

The same function as the CLIP family's :class:`~mmaction_aim.models.
families.clip.AIMBlock`, with the same parameters under the same names,
written the plain way: :class:`torch.nn.MultiheadAttention`, copies to
regroup the tokens by time, CLIP's QuickGELU as ``x * sigmoid(1.702 x)``,
an adapter of plain modules, and autograd keeping whatever each operation
keeps. It is what the package's blocks are measured against
(``tools/analysis/benchmark.py --variants plain``) and the oracle their
gradients are tested against; it is no model to train, and is registered
(as the image-model family ``PlainCLIPViT``) by ``mmaction_aim.analysis``,
not by ``import mmaction_aim``.
"""
import dataclasses
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from ..models.families import FAMILIES, CLIPViT
from ..models.families.clip import CLIP_BLOCK, AIMBlock
from ..models.layers import Adapter, BlockParts, ResidualAttentionBlock


class PlainQuickGELU(nn.Module):
    """``x * sigmoid(1.702 x)``, as CLIP writes it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class PlainAdapter(Adapter):
    """:class:`~mmaction_aim.models.layers.Adapter`'s parameters, computed
    by plain modules."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc2(F.gelu(self.fc1(x)))
        return x + out if self.skip_connect else out


class PlainAIMBlock(AIMBlock):
    """AIM's CLIP block written straightforwardly (see the module
    docstring): CLIP's attention parameters inside an
    ``nn.MultiheadAttention``, the MLP as ``nn.Sequential``; nothing is
    recomputed."""

    adapter_cls = PlainAdapter

    def __init__(self, block: ResidualAttentionBlock, parts: BlockParts,
                 num_frames: int, **kwargs) -> None:
        super().__init__(block, parts, num_frames, **kwargs)
        self.recompute = frozenset()
        clip_attn, clip_mlp = self.attn, self.mlp
        dims = clip_attn.embed_dims
        self.attn = nn.MultiheadAttention(dims, clip_attn.num_heads,
                                          batch_first=True)
        self.attn.in_proj_weight = clip_attn.in_proj_weight
        self.attn.in_proj_bias = clip_attn.in_proj_bias
        self.attn.out_proj = clip_attn.out_proj
        gelu = PlainQuickGELU() if clip_mlp.act == 'quick_gelu' else \
            nn.GELU()
        self.mlp = nn.Sequential(OrderedDict(c_fc=clip_mlp.c_fc, gelu=gelu,
                                             c_proj=clip_mlp.c_proj))

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


@FAMILIES.register_module()
class PlainCLIPViT(CLIPViT):
    """The CLIP family with :class:`PlainAIMBlock` blocks: the same model,
    parameters and state-dict keys, computed the straightforward way."""

    block_types = {ResidualAttentionBlock: dataclasses.replace(
        CLIP_BLOCK, adapted=PlainAIMBlock)}
