"""timm's VisionTransformer: ImageNet-21K ViTs, DeiT III, DINOv2 (with and
without registers), SigLIP, CLIP through timm."""
from typing import Iterable, Tuple

import torch
from timm.models.vision_transformer import Block, VisionTransformer
from torch import nn

from ..layers.adapted_block import AdaptedBlock
from .base import TimmFamily


class AIMTimmBlock(AdaptedBlock):
    """timm's ViT :class:`~timm.models.vision_transformer.Block` with AIM's
    adaptations, keeping its layers under timm's names (``norm1``, ``attn``,
    ``ls1``, ``norm2``, ``mlp``, ``ls2``).

    The temporal branch reuses ``norm1`` and ``attn`` (its ``proj``
    included) along time, as the original AIM does for its ImageNet ViT; the
    spatial adapter sits on the attention's output, before the block's layer
    scale ``ls1``; the MLP keeps ``ls2``, the joint adapter beside it has
    AIM's ``adapter_scale``. timm's own drop-path is not kept (AIM's
    ``drop_path_rate`` applies to the temporal and joint branches).

    Args:
        block (Block): The timm block whose layers are taken over.
        embed_dims (int): Width ``D``.
        num_frames (int): Frames ``T`` per clip.
        **kwargs: The adaptation's arguments
            (:class:`~..layers.AdaptedBlock`).
    """

    def __init__(self, block: Block, embed_dims: int, num_frames: int,
                 **kwargs) -> None:
        super().__init__(embed_dims, num_frames, **kwargs)
        self.norm1 = block.norm1
        self.attn = block.attn
        self.norm2 = block.norm2
        self.mlp = block.mlp
        self.take_layer_scales(block)

    def take_layer_scales(self, block: nn.Module) -> None:
        """Keep the block's layer scales under its names (``ls1``,
        ``ls2``: ``LayerScale`` or identity)."""
        self.ls1 = block.ls1
        self.ls2 = block.ls2

    def attention_parts(self) -> Iterable[nn.Module]:
        return (self.norm1, self.attn)

    def attend_time(self, x: torch.Tensor) -> torch.Tensor:
        bt, n, d = x.shape
        b = bt // self.num_frames
        # [B*T, N, D] -> a [B, N, T, D] view, normalised contiguous.
        h = self.norm1(x.view(b, self.num_frames, n, d).transpose(1, 2))
        if self.temporal_adapter_in is not None:
            h = self.temporal_adapter_in(h)
        h = self.attn(h.reshape(b * n, self.num_frames, d))  # [B*N, T, D]
        return h.view(b, n, self.num_frames, d)

    def attend_space(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(self.norm1(x))  # [B*T, N, D]

    def attention_scale(self, x: torch.Tensor) -> torch.Tensor:
        return self.ls1(x)

    def mlp_norm(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm2(x)

    def mlp_scale(self, x: torch.Tensor) -> torch.Tensor:
        return self.ls2(x)


class VisionTransformerFamily(TimmFamily):
    """timm's :class:`~timm.models.vision_transformer.VisionTransformer`."""

    model_cls = VisionTransformer
    block_types = {Block: AIMTimmBlock}

    def embed(self, model: VisionTransformer,
              x: torch.Tensor) -> Tuple[torch.Tensor, dict]:
        x = model.patch_embed(x)  # [B*T, g*g, D] (NHWC if dynamic size)
        return model._pos_embed(x), {}  # [B*T, N, D]

    def pre_blocks(self, model: VisionTransformer,
                   x: torch.Tensor) -> torch.Tensor:
        return model.norm_pre(model.patch_drop(x))
