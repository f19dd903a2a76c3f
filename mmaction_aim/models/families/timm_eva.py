"""timm's Eva: EVA-02 (rotary embeddings, SwiGLU, separate q/k/v)."""
from typing import Iterable, Optional, Tuple

import torch
from timm.models.eva import Eva, EvaBlock
from torch import nn

from ..layers.adapted_block import AdaptedBlock
from .base import TimmFamily, UnsupportedImageModelError


class AIMEvaBlock(AdaptedBlock):
    """timm's :class:`~timm.models.eva.EvaBlock` with AIM's adaptations,
    keeping its layers under timm's names (``norm1``, ``attn``,
    ``gamma_1``, ``norm2``, ``mlp``, ``gamma_2``).

    The spatial attention takes the model's rotary embedding (``rope``) as
    EVA does; the temporal pass runs the same attention along time without
    it (time has no 2-D position; AIM's temporal embedding gives the
    order). Layer scale as :class:`~.timm_vit.AIMTimmBlock`.

    Args:
        block (EvaBlock): The timm block whose layers are taken over.
        embed_dims (int): Width ``D``.
        num_frames (int): Frames ``T`` per clip.
        **kwargs: The adaptation's arguments
            (:class:`~..layers.AdaptedBlock`).
    """

    def __init__(self, block: EvaBlock, embed_dims: int, num_frames: int,
                 **kwargs) -> None:
        super().__init__(embed_dims, num_frames, **kwargs)
        self.norm1 = block.norm1
        self.attn = block.attn
        self.gamma_1 = block.gamma_1  # nn.Parameter or None
        self.norm2 = block.norm2
        self.mlp = block.mlp
        self.gamma_2 = block.gamma_2

    def attention_parts(self) -> Iterable[nn.Module]:
        return (self.norm1, self.attn)

    def attend_time(self, x: torch.Tensor) -> torch.Tensor:
        bt, n, d = x.shape
        b = bt // self.num_frames
        h = self.norm1(x.view(b, self.num_frames, n, d).transpose(1, 2))
        if self.temporal_adapter_in is not None:
            h = self.temporal_adapter_in(h)
        h = self.attn(h.reshape(b * n, self.num_frames, d), rope=None)
        return h.view(b, n, self.num_frames, d)  # [B, N, T, D]

    def attend_space(self, x: torch.Tensor,
                     rope: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.attn(self.norm1(x), rope=rope)  # [B*T, N, D]

    def attention_scale(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.gamma_1 is None else self.gamma_1 * x

    def mlp_norm(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm2(x)

    def mlp_scale(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.gamma_2 is None else self.gamma_2 * x


class EvaFamily(TimmFamily):
    """timm's :class:`~timm.models.eva.Eva` (EVA-02 and relatives)."""

    model_cls = Eva
    block_types = {EvaBlock: AIMEvaBlock}

    def check(self, model: nn.Module) -> None:
        super().check(model)
        if getattr(model, 'rope_mixed', False):
            raise UnsupportedImageModelError(
                'mixed (per-block) rotary embeddings are not supported')

    def embed(self, model: Eva,
              x: torch.Tensor) -> Tuple[torch.Tensor, dict]:
        x = model.patch_embed(x)
        # Positions, prefix tokens and patch dropout; the rotary embedding
        # goes to every block's spatial attention.
        x, rope = model._pos_embed(x)  # [B*T, N, D]
        return x, dict(rope=rope)
