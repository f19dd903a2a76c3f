"""timm's Beit: BEiT and BEiT v2 (relative position bias, layer scale)."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from timm.models.beit import Beit, Block
from torch import nn

from .registry import FAMILIES
from .timm_eva import AIMEvaBlock
from .timm_vit import FlatTimmFamily


class AIMBeitBlock(AIMEvaBlock):
    """timm's BEiT :class:`~timm.models.beit.Block` with AIM's adaptations:
    EVA's layer scales (``gamma_1``, ``gamma_2``), BEiT's attention.

    The spatial attention is the block's own, with its relative position
    bias over the frame's patches (and the model's shared one, if any). The
    temporal pass runs the same projections (``qkv`` with BEiT's
    ``q_bias`` / ``v_bias``, ``proj``) along time without that bias, which
    only fits the spatial window (AIM's temporal embedding gives the order).
    """

    def attend_time(self, x: torch.Tensor) -> torch.Tensor:
        bt, n, d = x.shape
        b, t = bt // self.num_frames, self.num_frames
        # [B*T, N, D] -> a [B, N, T, D] view, normalised contiguous.
        h = self.norm1(x.view(b, t, n, d).transpose(1, 2))
        if self.temporal_adapter_in is not None:
            h = self.temporal_adapter_in(h)
        attn = self.attn
        bias = None if attn.q_bias is None else torch.cat(
            (attn.q_bias, attn.k_bias, attn.v_bias))
        qkv = F.linear(h.reshape(b * n, t, d), attn.qkv.weight, bias)
        q, k, v = qkv.view(b * n, t, 3, attn.num_heads, -1).permute(
            2, 0, 3, 1, 4).unbind(0)  # [B*N, heads, T, d]
        out = F.scaled_dot_product_attention(
            q, k, v, dropout_p=attn.attn_drop.p if self.training else 0.)
        out = attn.proj_drop(attn.proj(out.transpose(1, 2).reshape(
            b * n, t, -1)))  # [B*N, T, D]
        return out.view(b, n, t, d)

    def attend_space(self, x: torch.Tensor,
                     shared_rel_pos_bias: Optional[torch.Tensor] = None
                     ) -> torch.Tensor:
        return self.attn(self.norm1(x),
                         shared_rel_pos_bias=shared_rel_pos_bias)


@FAMILIES.register_module()
class TimmBeit(FlatTimmFamily):
    """timm's :class:`~timm.models.beit.Beit` (BEiT, BEiT v2): per frame,
    the patch embedding, the class token and any absolute positions; the
    shared relative position bias (if the model has one) goes to every
    block's spatial attention; output the model's own average pool and
    ``fc_norm``.

    Args: see :class:`~.timm_common.TimmFamily`.
    """

    model_cls = Beit
    block_types = {Block: AIMBeitBlock}

    def embed(self, model: Beit, x: torch.Tensor
              ) -> Tuple[torch.Tensor, dict]:
        b, c, t, h, w = x.shape
        x = model.patch_embed(x.transpose(1, 2).reshape(b * t, c, h, w))
        x = torch.cat((model.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        if model.pos_embed is not None:
            x = x + model.pos_embed
        shared = model.rel_pos_bias() if model.rel_pos_bias is not None \
            else None
        return model.pos_drop(x), dict(shared_rel_pos_bias=shared)

    def pre_blocks(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return x
