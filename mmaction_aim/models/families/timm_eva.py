"""timm's Eva: EVA-02 (rotary embeddings, SwiGLU, separate q/k/v)."""
from typing import Optional, Tuple

import torch
from timm.models.eva import Eva, EvaBlock
from torch import nn

from .base import UnsupportedImageModelError
from .registry import FAMILIES
from .timm_vit import AIMTimmBlock, FlatTimmFamily


class AIMEvaBlock(AIMTimmBlock):
    """timm's :class:`~timm.models.eva.EvaBlock` with AIM's adaptations:
    :class:`~.timm_vit.AIMTimmBlock`, with EVA's layer scales (the
    parameters ``gamma_1``, ``gamma_2``, or None) and its rotary embedding.

    The spatial attention takes the model's rotary embedding (``rope``) as
    EVA does; the temporal pass runs the same attention along time without
    it (EVA's attention defaults to ``rope=None``; time has no 2-D
    position, AIM's temporal embedding gives the order).
    """

    def take_layer_scales(self, block: EvaBlock) -> None:
        self.gamma_1 = block.gamma_1  # nn.Parameter or None
        self.gamma_2 = block.gamma_2

    def attend_space(self, x: torch.Tensor,
                     rope: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.attn(self.norm1(x), rope=rope)  # [B*T, N, D]

    def attention_scale(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.gamma_1 is None else self.gamma_1 * x

    def mlp_scale(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.gamma_2 is None else self.gamma_2 * x


@FAMILIES.register_module()
class TimmEva(FlatTimmFamily):
    """timm's :class:`~timm.models.eva.Eva` (EVA-02 and relatives).

    Args: see :class:`~.timm_common.TimmFamily`.
    """

    model_cls = Eva
    block_types = {EvaBlock: AIMEvaBlock}

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
