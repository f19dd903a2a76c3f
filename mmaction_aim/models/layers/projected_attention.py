"""Self-attention computed from an attention module's projections alone.

Image models whose attention adds a spatial position bias (BEiT's relative
position bias, Swin's window bias) cannot run that attention along time:
the bias fits the frame's tokens only. AIM runs the same frozen projections
(``qkv``, ``proj``) along time instead, without that bias or with one of its
own (Swin's temporal relative position bias); written here once.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def qkv_bias_of(attn: nn.Module) -> Optional[torch.Tensor]:
    """The bias of ``attn``'s ``qkv`` product: the linear layer's own, or
    BEiT's separate ``q_bias`` / ``k_bias`` / ``v_bias`` (None if none)."""
    if getattr(attn, 'q_bias', None) is not None:
        return torch.cat((attn.q_bias, attn.k_bias, attn.v_bias))
    return attn.qkv.bias


def projected_attention(attn: nn.Module, x: torch.Tensor,
                        bias: Optional[torch.Tensor] = None
                        ) -> torch.Tensor:
    """Multi-head self-attention over ``x`` with ``attn``'s projections.

    Args:
        attn (nn.Module): An attention module with ``qkv`` (a linear layer
            to ``3 * D``, laid out ``[3, heads, head width]``), ``proj``,
            ``num_heads`` (Hiera: ``heads``), ``scale`` and optionally
            ``attn_drop`` / ``proj_drop`` (applied while training).
        x (torch.Tensor): Tokens ``[B', L, D]``.
        bias (torch.Tensor, optional): An additive attention bias
            ``[heads, L, L]``. Defaults to None.

    Returns:
        torch.Tensor: ``[B', L, D]``.
    """
    b, length, _ = x.shape
    heads = getattr(attn, 'num_heads', None) or attn.heads
    qkv = F.linear(x, attn.qkv.weight, qkv_bias_of(attn))
    q, k, v = qkv.view(b, length, 3, heads, -1).permute(
        2, 0, 3, 1, 4).unbind(0)  # [B', heads, L, d]
    drop = getattr(attn, 'attn_drop', None)
    out = F.scaled_dot_product_attention(
        q, k, v, scale=attn.scale,
        attn_mask=None if bias is None else bias.unsqueeze(0).to(q.dtype),
        dropout_p=drop.p if drop is not None and attn.training else 0.)
    out = attn.proj(out.transpose(1, 2).reshape(b, length, -1))
    proj_drop = getattr(attn, 'proj_drop', None)
    return out if proj_drop is None else proj_drop(out)  # [B', L, D]
