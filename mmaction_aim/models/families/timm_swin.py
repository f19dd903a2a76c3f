"""timm's Swin Transformer: a hierarchical image model adapted by AIM."""
from typing import Iterable

import torch
import torch.nn.functional as F
from timm.models.swin_transformer import SwinTransformerBlock
from torch import nn
from torch.nn.init import trunc_normal_

from ..layers.adapted_block import AdaptedBlock


class AIMSwinBlock(AdaptedBlock):
    """timm's :class:`~timm.models.swin_transformer.SwinTransformerBlock`
    with AIM's adaptations, keeping its layers under timm's names (``norm1``,
    ``attn`` -- the window attention --, ``norm2``, ``mlp``).

    Tokens are timm's NHWC maps of every time step, ``[B*T, H, W, C]``.

    * temporal (where enabled: the original AIM adapts the unshifted,
      even-indexed blocks of every stage): every spatial position's sequence
      of ``T`` time steps through the frozen ``norm1`` and the window
      attention's ``qkv`` and ``proj``, with a temporal relative position
      bias ``temporal_position_bias_table`` ``[2T-1, heads]`` in place of the
      window's spatial one (which only fits ``window_area``-long sequences);
    * spatial: timm's own windowed attention (shift, padding, mask: the
      timm block's ``_attn``), then the spatial adapter on its output (a
      token-wise map: the same inside the windows or after they are merged);
    * joint: beside the MLP, scaled by ``adapter_scale``.

    Args:
        block (SwinTransformerBlock): The timm block whose layers are taken.
        embed_dims (int): Width ``C`` of its stage.
        num_frames (int): Time steps ``T`` (frames / tubelet size).
        **kwargs: The adaptation's arguments
            (:class:`~..layers.AdaptedBlock`).
    """

    def __init__(self, block: SwinTransformerBlock, embed_dims: int,
                 num_frames: int, **kwargs) -> None:
        super().__init__(embed_dims, num_frames, **kwargs)
        self.norm1 = block.norm1
        self.attn = block.attn
        self.norm2 = block.norm2
        self.mlp = block.mlp
        # What timm's windowed attention (``_attn``) reads of its block.
        for name in ('input_resolution', 'window_size', 'shift_size',
                     'window_area', 'always_partition', 'dynamic_mask',
                     'target_shift_size'):
            setattr(self, name, getattr(block, name))
        self.register_buffer('attn_mask', block.attn_mask, persistent=False)
        if self.temporal_adapter is not None:
            heads = self.attn.num_heads
            self.temporal_position_bias_table = nn.Parameter(
                torch.zeros(2 * num_frames - 1, heads))
            trunc_normal_(self.temporal_position_bias_table, std=.02)
            steps = torch.arange(num_frames)
            # index[i, j] = i - j + T - 1: query step i, key step j.
            self.register_buffer(
                'temporal_position_index',
                steps[:, None] - steps[None, :] + num_frames - 1,
                persistent=False)
        else:
            self.temporal_position_bias_table = None

    def get_attn_mask(self, x):
        """timm's shifted-window mask (read by ``_attn`` when dynamic)."""
        return SwinTransformerBlock.get_attn_mask(self, x)

    # ------------------------------------------------ the family interface
    def attention_parts(self) -> Iterable[nn.Module]:
        return (self.norm1, self.attn)

    def _attend_along_time(self, h: torch.Tensor) -> torch.Tensor:
        """The window attention's projections over ``[B*N, T, C]``."""
        attn = self.attn
        bn, t, _ = h.shape
        qkv = attn.qkv(h).reshape(bn, t, 3, attn.num_heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # [B*N, heads, T, d]
        bias = self.temporal_position_bias_table[
            self.temporal_position_index]  # [T, T, heads]
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias.permute(2, 0, 1).unsqueeze(0).to(q.dtype),
            scale=attn.scale)  # [B*N, heads, T, d]
        return attn.proj(out.transpose(1, 2).reshape(bn, t, -1))

    def attend_time(self, x: torch.Tensor) -> torch.Tensor:
        bt, h, w, c = x.shape
        b, t = bt // self.num_frames, self.num_frames
        # [B*T, H, W, C] -> a [B, H*W, T, C] view, normalised contiguous.
        y = self.norm1(x.view(b, t, h * w, c).transpose(1, 2))
        if self.temporal_adapter_in is not None:
            y = self.temporal_adapter_in(y)
        y = self._attend_along_time(y.reshape(b * h * w, t, c))
        return y.view(b, h * w, t, c)  # [B, N, T, C]

    def attend_space(self, x: torch.Tensor) -> torch.Tensor:
        return SwinTransformerBlock._attn(self, self.norm1(x))  # NHWC

    def mlp_norm(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm2(x)
