"""CLIP's residual attention block with AIM's three adaptations."""
from typing import Iterable

import torch
from torch import nn

from .adapted_block import RECOMPUTABLE, AdaptedBlock
from .clip_layers import CLIPAttention, CLIPMLP

__all__ = ['AIMBlock', 'RECOMPUTABLE']


class AIMBlock(AdaptedBlock):
    """CLIP's pre-norm block (``ln_1``, ``attn``, ``ln_2``, ``mlp``) with
    AIM's adaptations (:class:`~.adapted_block.AdaptedBlock`).

    CLIP's part of the family interface, written for speed:

    * the temporal attention reads ``[B*T, N, D]`` as a ``[B, N, T, D]``
      view: ``ln_1`` writes its output contiguous in that order, so the
      attention along ``T`` needs neither copies nor the slow 5-D path of
      the attention kernel;
    * ``out_proj`` stays outside the recomputed part (a frozen product keeps
      nothing for the backward pass, so recomputing it would buy nothing);
    * the frozen MLP keeps only its input (:func:`~.frozen_ops.clip_mlp`).

    Memory: each attention branch keeps, for the backward pass, its input
    (for ``ln_1``), q, k, v and the attention output (for the fused
    kernel): five token tensors; the frozen MLP keeps ``c_fc``'s output,
    four. Named in ``recompute``, and while frozen, these are recomputed in
    the backward pass instead of kept: ``'temporal'``, ``'spatial'``: 4 token
    tensors less for one more ``in_proj`` product and attention forward;
    ``'mlp'``: 4 token tensors less for one more ``c_fc`` product. Outputs
    and gradients are unchanged.

    Args:
        embed_dims (int): Width ``D``.
        num_heads (int): Attention heads.
        num_frames (int): Frames ``T`` per clip.
        act (str): The MLP's activation, ``'quick_gelu'`` or ``'gelu'``
            (:class:`~.clip_layers.CLIPMLP`). Defaults to ``'quick_gelu'``.
        **kwargs: The adaptation's arguments (``temporal``, ``spatial``,
            ``joint``, ``num_tadapter``, ``adapter_scale``,
            ``adapter_mlp_ratio``, ``drop_path``, ``recompute``) of
            :class:`~.adapted_block.AdaptedBlock`.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 num_frames: int,
                 act: str = 'quick_gelu',
                 **kwargs) -> None:
        super().__init__(embed_dims, num_frames, **kwargs)
        # CLIP's own parts, under CLIP's names.
        self.ln_1 = nn.LayerNorm(embed_dims)
        self.attn = self.build_attention(embed_dims, num_heads)
        self.ln_2 = nn.LayerNorm(embed_dims)
        self.mlp = self.build_mlp(embed_dims, act)

    @staticmethod
    def build_attention(embed_dims: int, num_heads: int) -> nn.Module:
        """CLIP's ``attn``: :class:`CLIPAttention`."""
        return CLIPAttention(embed_dims, num_heads)

    @staticmethod
    def build_mlp(embed_dims: int, act: str = 'quick_gelu') -> nn.Module:
        """CLIP's ``mlp``: :class:`CLIPMLP`."""
        return CLIPMLP(embed_dims, act=act)

    # ------------------------------------------------ the family interface
    def attention_parts(self) -> Iterable[nn.Module]:
        return (self.ln_1, self.attn)

    def attend_time(self, x: torch.Tensor) -> torch.Tensor:
        bt, n, d = x.shape
        # [B*T, N, D] -> a [B, N, T, D] view, normalised contiguous.
        h = self.ln_1(x.reshape(bt // self.num_frames, self.num_frames, n,
                             d).transpose(1, 2))  # [B, N, T, D]
        if self.temporal_adapter_in is not None:
            h = self.temporal_adapter_in(h)
        return self.attn.attend(h)  # along T, for every (clip, position)

    def attend_space(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn.attend(self.ln_1(x))  # [B*T, N, D]

    def project(self, h: torch.Tensor) -> torch.Tensor:
        return self.attn.out_proj(h)

    def mlp_norm(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln_2(x)

    def mlp_forward(self, h: torch.Tensor, recompute: bool) -> torch.Tensor:
        return self.mlp(h, recompute)
