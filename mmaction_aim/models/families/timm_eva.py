"""timm's Eva: EVA-02 (rotary embeddings, SwiGLU, separate q/k/v)."""
from typing import Tuple

import torch
from timm.models.eva import Eva, EvaBlock
from torch import nn

from ..layers.adapted_block import BlockParts
from .base import UnsupportedImageModelError
from .registry import FAMILIES
from .timm_vit import FlatTimmFamily


#: timm's ``EvaBlock``: timm's names, its layer scales the parameters
#: ``gamma_1``, ``gamma_2`` (or None). The spatial attention takes the
#: model's rotary embedding (``rope``) as EVA does; the temporal pass runs
#: the same attention along time without it (EVA's attention defaults to
#: ``rope=None``; time has no 2-D position, AIM's temporal embedding gives
#: the order).
EVA_BLOCK = BlockParts(scale1='gamma_1', scale2='gamma_2')


@FAMILIES.register_module()
class TimmEva(FlatTimmFamily):
    """timm's :class:`~timm.models.eva.Eva` (EVA-02 and relatives).

    Args: see :class:`~.timm_common.TimmFamily`.
    """

    model_cls = Eva
    block_types = {EvaBlock: EVA_BLOCK}

    def check(self, model: nn.Module) -> None:
        super().check(model)
        if getattr(model, 'rope_mixed', False):
            raise UnsupportedImageModelError(
                f'AIM cannot adapt {self.describe()}: mixed (per-block) '
                'rotary embeddings are not supported')

    def embed(self, model: Eva, x: torch.Tensor
              ) -> Tuple[torch.Tensor, dict]:
        b, c, t, h, w = x.shape
        x = model.patch_embed(x.transpose(1, 2).reshape(b * t, c, h, w))
        # Positions, prefix tokens and patch dropout; the rotary embedding
        # goes to every block's spatial attention.
        x, rope = model._pos_embed(x)  # [B*T, N, D]
        return x, dict(rope=rope)

    def pre_blocks(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return model.norm_pre(x)  # patch dropout ran in _pos_embed
