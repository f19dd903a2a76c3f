"""timm's Beit: BEiT and BEiT v2 (relative position bias, layer scale)."""
from typing import Tuple

import torch
from timm.models.beit import Beit, Block
from torch import nn

from ..layers.adapted_block import AdaptedBlock, BlockParts
from ..layers.projected_attention import projected_attention
from .registry import FAMILIES
from .timm_vit import FlatTimmFamily


class AIMBeitBlock(AdaptedBlock):
    """BEiT's block with AIM's adaptations: the spatial attention is the
    block's own, with its relative position bias over the frame's patches
    (and the model's shared one, if any); along time, the same projections
    (``qkv`` with BEiT's ``q_bias`` / ``v_bias``, ``proj``) run without
    that bias, which only fits the spatial window (AIM's temporal embedding
    gives the order)."""

    def attention_along_time(self, h: torch.Tensor) -> torch.Tensor:
        return projected_attention(self.attn, h)  # [B*N, T, D]


#: timm's BEiT ``Block``: timm's names, EVA-style layer scales.
BEIT_BLOCK = BlockParts(scale1='gamma_1', scale2='gamma_2',
                        adapted=AIMBeitBlock)


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
    block_types = {Block: BEIT_BLOCK}

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
