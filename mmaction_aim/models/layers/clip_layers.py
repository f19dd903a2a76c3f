"""CLIP's transformer primitives with CLIP's parameter names.

Parameter names match OpenAI CLIP / open_clip (``attn.in_proj_weight``,
``attn.out_proj``, ``mlp.c_fc``, ``mlp.c_proj``), so CLIP weights load with a
prefix strip, while attention runs through the fused
:func:`torch.nn.functional.scaled_dot_product_attention`.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from .frozen_ops import MLP_ACTIVATIONS, clip_mlp, quick_gelu


class QuickGELU(nn.Module):
    """CLIP's GELU approximation ``x * sigmoid(1.702 x)``.

    Computed as ``silu(1.702 x) / 1.702`` (:func:`~.frozen_ops.quick_gelu`):
    one fused kernel, and only one tensor kept for the backward pass.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return quick_gelu(x)


class CLIPMLP(nn.Module):
    """CLIP's MLP: ``c_fc`` -> activation -> ``c_proj`` (the activation is
    applied inside :func:`~.frozen_ops.clip_mlp`; it has no parameters).

    Args:
        embed_dims (int): Width ``D``.
        mlp_ratio (float): Hidden width as a multiple of ``D``. Defaults to 4.
        act (str): ``'quick_gelu'`` (OpenAI, DFN, MetaCLIP weights) or
            ``'gelu'`` (exact GELU: LAION, DataComp weights). Nothing in a
            checkpoint tells them apart. Defaults to ``'quick_gelu'``.
    """

    def __init__(self, embed_dims: int, mlp_ratio: float = 4.0,
                 act: str = 'quick_gelu') -> None:
        if act not in MLP_ACTIVATIONS:
            raise ValueError(f'Unknown CLIP activation {act!r}; choose from '
                             f'{sorted(MLP_ACTIVATIONS)}')
        hidden_dims = int(embed_dims * mlp_ratio)
        super().__init__()
        self.act = act
        self.c_fc = nn.Linear(embed_dims, hidden_dims)
        self.c_proj = nn.Linear(hidden_dims, embed_dims)

    def forward(self, x: torch.Tensor,
                recompute: bool = True) -> torch.Tensor:
        """``c_proj(gelu(c_fc(x)))`` on ``[..., D]``.

        The three modules are applied by :func:`~.frozen_ops.clip_mlp`,
        which folds QuickGELU's scale into the two products (one fused
        element-wise pass; exact GELU likewise, unscaled).

        Args:
            x (torch.Tensor): ``[..., D]``.
            recompute (bool): Frozen, keep only ``x`` for the backward pass
                and recompute ``c_fc(x)`` there
                (:class:`~.frozen_ops.FrozenMLPFunction`). Defaults to True.

        Returns:
            torch.Tensor: ``[..., D]``.
        """
        return clip_mlp(x, self.c_fc, self.c_proj, recompute, self.act)


class CLIPAttention(nn.Module):
    """Multi-head self-attention with ``nn.MultiheadAttention``'s parameters.

    Holds the packed ``in_proj_weight``/``in_proj_bias`` and ``out_proj`` of
    :class:`torch.nn.MultiheadAttention` (CLIP's ``attn``), but is
    batch-first, attends along the second-to-last dimension of an input with
    any number of leading batch dimensions, and uses the fused attention
    kernel.

    Args:
        embed_dims (int): Width ``D``.
        num_heads (int): Number of heads; must divide ``D``.
    """

    def __init__(self, embed_dims: int, num_heads: int) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'width {embed_dims} is not divisible by '
                             f'{num_heads} heads')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dims,
                                                       embed_dims))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dims))
        self.out_proj = nn.Linear(embed_dims, embed_dims)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise as :class:`torch.nn.MultiheadAttention` does."""
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.in_proj_bias)
        nn.init.kaiming_uniform_(self.out_proj.weight, a=math.sqrt(5))
        nn.init.zeros_(self.out_proj.bias)

    def attend(self, x: torch.Tensor) -> torch.Tensor:
        """Attention along ``L`` up to, not including, ``out_proj``.

        Args:
            x (torch.Tensor): ``[*batch, L, D]``, any strides.

        Returns:
            torch.Tensor: ``[*batch, L, D]``, the heads merged.
        """
        *batch, length, dims = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        # A 4-D layout, so that the fused (flash) kernel runs: the math
        # fallback taken for more batch dimensions is slower and keeps more
        # for the backward pass. All views of the projection's output:
        # [*b, L, 3D] -> [b, L, 3, H, Dh] -> 3 x [b, H, L, Dh]
        qkv = qkv.reshape(-1, length, 3, self.num_heads, self.head_dims)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v)  # [b, H, L, Dh]
        # The kernel lays its output out as [b, L, H, Dh]: merging the heads
        # is a view, not a copy.
        return out.transpose(1, 2).reshape(*batch, length, dims)

    def forward(self, x: torch.Tensor, seq_dim: int = -2) -> torch.Tensor:
        """Self-attention along ``seq_dim`` of ``x``.

        Args:
            x (torch.Tensor): ``[*batch, L, D]`` (``seq_dim=-2``) or any
                layout whose last dimension is ``D``; every dimension but
                ``seq_dim`` and the last is a batch dimension.
            seq_dim (int): The dimension to attend along. Defaults to -2.

        Returns:
            torch.Tensor: Same shape as ``x``.
        """
        seq_dim = seq_dim % x.dim()
        if seq_dim != x.dim() - 2:
            x = x.movedim(seq_dim, -2)
        out = self.out_proj(self.attend(x))  # [*b, L, D]
        if seq_dim != x.dim() - 2:
            out = out.movedim(-2, seq_dim)
        return out


class ResidualAttentionBlock(nn.Module):
    """CLIP's pre-norm block: ``x + attn(ln_1(x))``, then ``x +
    mlp(ln_2(x))`` (open_clip's and OpenAI's names).

    Args:
        embed_dims (int): Width ``D``.
        num_heads (int): Attention heads.
        act (str): The MLP's activation (:class:`CLIPMLP`).
    """

    def __init__(self, embed_dims: int, num_heads: int,
                 act: str = 'quick_gelu') -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(embed_dims)
        self.attn = CLIPAttention(embed_dims, num_heads)
        self.ln_2 = nn.LayerNorm(embed_dims)
        self.mlp = CLIPMLP(embed_dims, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., N, D]`` -> ``[..., N, D]``."""
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class CLIPVisionTransformer(nn.Module):
    """CLIP's image encoder, without its final projection ``proj`` (which
    AIM does not use), under CLIP's names: ``conv1``, ``class_embedding``,
    ``positional_embedding``, ``ln_pre``, ``transformer.resblocks.N``,
    ``ln_post``. A CLIP visual state dict loads into it with its
    ``visual.`` prefix stripped.

    Args:
        patch_size (int): Patch size.
        width (int): Width ``D``.
        layers (int): Blocks.
        heads (int): Attention heads.
        input_resolution (int): Image size.
        act (str): The MLP's activation, ``'quick_gelu'`` (OpenAI, DFN,
            MetaCLIP weights) or ``'gelu'`` (LAION, DataComp).
    """

    def __init__(self, patch_size: int, width: int, layers: int, heads: int,
                 input_resolution: int = 224,
                 act: str = 'quick_gelu') -> None:
        super().__init__()
        if input_resolution % patch_size:
            raise ValueError(f'input_resolution {input_resolution} is not '
                             f'a multiple of patch {patch_size}')
        grid = input_resolution // patch_size
        self.patch_size = patch_size
        self.width = width
        self.layers = layers
        self.input_resolution = input_resolution
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size,
                               stride=patch_size, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(
            torch.zeros(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = nn.Module()
        self.transformer.resblocks = nn.Sequential(*[
            ResidualAttentionBlock(width, heads, act) for _ in range(layers)
        ])
        self.ln_post = nn.LayerNorm(width)
        self.init_weights()

    def init_weights(self) -> None:
        """Initialise as CLIP does (used without pretraining)."""
        scale = self.width**-0.5
        nn.init.normal_(self.class_embedding, std=scale)
        nn.init.normal_(self.positional_embedding, std=scale)
        proj_std = scale * (2 * self.layers)**-0.5
        fc_std = (2 * self.width)**-0.5
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=scale)
            nn.init.zeros_(block.attn.in_proj_bias)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.zeros_(block.attn.out_proj.bias)
            nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
            nn.init.zeros_(block.mlp.c_fc.bias)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
            nn.init.zeros_(block.mlp.c_proj.bias)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Patch, class-token and positional embedding (before ``ln_pre``).

        Args:
            x (torch.Tensor): Images ``[N, 3, H, W]``.

        Returns:
            torch.Tensor: Tokens ``[N, 1 + g*g, D]``, class token first.
        """
        x = self.conv1(x)  # [N, D, g, g]
        x = x.flatten(2).transpose(1, 2)  # [N, g*g, D]
        cls_token = self.class_embedding.to(x.dtype).expand(
            x.shape[0], 1, -1)
        x = torch.cat([cls_token, x], dim=1)  # [N, 1 + g*g, D]
        return x + self.positional_embedding.to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Each image's class token after ``ln_post``: ``[N, 3, H, W]`` ->
        ``[N, D]``."""
        x = self.ln_pre(self.embed(x))
        x = self.transformer.resblocks(x)
        return self.ln_post(x[:, 0])
