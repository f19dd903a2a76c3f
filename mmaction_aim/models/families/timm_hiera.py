"""timm's Hiera: a hierarchical ViT whose blocks pool their tokens."""
import math
from typing import List, Tuple

import torch
from timm.layers import resample_abs_pos_embed
from timm.models.hiera import Hiera, HieraBlock, checkpoint_filter_fn
from torch import nn

from ...checkpoint import ImageModelMismatchError, StateDict
from ..layers.adapted_block import AdaptedBlock, BlockParts
from ..layers.projected_attention import projected_attention
from .base import ImageModelFacts, Stage, UnsupportedImageModelError
from .registry import FAMILIES
from .timm_common import TimmFamily
from .weight_files import describe_state_dict, hierarchical_widths


class AIMHieraBlock(AdaptedBlock):
    """timm's :class:`~timm.models.hiera.HieraBlock` with AIM's adaptations,
    under timm's names (``norm1``, ``attn``, ``ls1``, ``norm2``, ``mlp``,
    ``ls2``; ``proj`` of the pooled shortcut).

    Tokens ``[B*T, N, D]`` in Hiera's unrolled order (one permutation of the
    frame's grid, the same in every frame: token ``n`` is one position in
    every frame, so attention along time pairs the right tokens).

    * temporal: the attention's ``qkv`` and ``proj`` along time (its global
      path: no mask units, no query pooling, which fit a frame's tokens);
      only in blocks that keep the tokens' count and width (the family
      leaves it out of the three stage transitions);
    * spatial: timm's attention (mask units, query pooling), the spatial
      adapter on its output, ``ls1``, added to the block's own shortcut
      (``x``; at a stage transition ``proj(norm1(x))``, or ``x`` itself
      without the projection, pooled as timm pools it);
    * joint: beside the MLP.
    """

    def __init__(self, block: HieraBlock, parts: BlockParts,
                 num_frames: int, **kwargs) -> None:
        super().__init__(block, parts, num_frames, **kwargs)
        self.do_expand = block.do_expand
        self.proj = block.proj  # the shortcut's projection, or None

    def attention_along_time(self, h: torch.Tensor) -> torch.Tensor:
        return projected_attention(self.attn, h)  # [B*N, T, D]

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if not self.do_expand:
            return x
        stride = self.attn.q_stride
        if self.proj is not None:
            x = self.proj(self.norm1(x))
            return x.view(x.shape[0], stride, -1, x.shape[-1]).amax(dim=1)
        x = x.view(x.shape[0], stride, -1, x.shape[-1])
        return torch.cat([x.amax(dim=1), x.mean(dim=1)], dim=-1)


#: timm's ``HieraBlock`` keeps timm's ViT names.
HIERA_BLOCK = BlockParts(adapted=AIMHieraBlock)


@FAMILIES.register_module()
class TimmHiera(TimmFamily):
    """timm's :class:`~timm.models.hiera.Hiera` (``hiera_*_224``,
    ``hiera_*_abswin_256``): per frame, the patch and positional embedding,
    the tokens unrolled as Hiera orders them, AIM's temporal embedding on
    every token, the adapted blocks (which pool the tokens and widen them
    at each stage), the model's own head (average pool, then its norm).
    Fresh adapters give, for every frame, exactly timm's features of that
    image.

    Args: see :class:`~.timm_common.TimmFamily`.
    """

    model_cls = Hiera
    block_types = {HieraBlock: HIERA_BLOCK}

    def stages(self, model: Hiera) -> List[Stage]:
        return [(nn.Identity(), model.blocks)]

    def adapt_block(self, block: nn.Module, stage: int, index: int,
                    **aim_kwargs) -> AdaptedBlock:
        # No attention along time where the block pools and widens.
        aim_kwargs['temporal'] &= block.dim == block.dim_out
        return super().adapt_block(block, stage, index, **aim_kwargs)

    def embed(self, model: Hiera, x: torch.Tensor
              ) -> Tuple[torch.Tensor, dict]:
        b, c, t, h, w = x.shape
        x = model.patch_embed(x.transpose(1, 2).reshape(b * t, c, h, w))
        return model.unroll(model._pos_embed(x)), {}  # [B*T, N, D]

    def output(self, model: Hiera, x: torch.Tensor,
               batch: int) -> torch.Tensor:
        x = model.forward_head(x, pre_logits=True)  # [B*T, C]: pool, norm
        return x.view(batch, -1, x.shape[-1]).transpose(1, 2)  # [B, C, T]

    def facts(self, model: Hiera) -> ImageModelFacts:
        return ImageModelFacts(
            width=model.num_features,
            token_width=model.patch_embed.proj.out_channels,
            input_size=model.tokens_spatial_shape[0] * model.patch_stride[0],
            fixed_input_size=True, output_norms=('head.norm', ))

    @classmethod
    def tiny_config(cls, cfg: dict, width: int, depth: int) -> dict:
        # Four stages of ``depth`` blocks, from two heads.
        return dict(cfg, timm_kwargs=dict(cfg.get('timm_kwargs') or {},
                                          embed_dim=width, num_heads=2,
                                          stages=(depth, ) * 4))

    def build(self) -> nn.Module:
        model = super().build()
        # Mask units and query pooling tile the token grid exactly; another
        # frame size fails deep inside timm's unroll.
        grid = list(model.tokens_spatial_shape)
        unrolls = len(model.stage_ends) - 1
        unit = [math.lcm(m, s ** unrolls) for m, s in
                zip(model.mask_unit_size, model.q_stride, strict=True)]
        if any(g % u for g, u in zip(grid, unit, strict=True)):
            size = [g * p for g, p in
                    zip(grid, model.patch_stride, strict=True)]
            multiple = [u * p for u, p in
                        zip(unit, model.patch_stride, strict=True)]
            raise UnsupportedImageModelError(
                f'{self.describe()} cannot take {size[0]}x{size[1]} frames: '
                f'its mask units tile the token grid, so the frame size must '
                f'be a multiple of {multiple[0]} '
                '(timm_kwargs.img_size, or the pipeline\'s crop)')
        return model

    def convert(self, state_dict: StateDict, model: nn.Module,
                name: str) -> StateDict:
        """A timm or original (Meta) Hiera file in timm's names (timm's
        checkpoint filter), without the classifier, its positions resized
        to the model's frame size; a file of another model is refused
        saying what it holds."""
        state_dict = checkpoint_filter_fn(state_dict, model)
        ours = hierarchical_widths(model.state_dict(keep_vars=True))
        theirs = hierarchical_widths(state_dict)
        if theirs != ours or 'cls_token' in state_dict:
            raise ImageModelMismatchError(
                f'{name} holds {describe_state_dict(state_dict)}, not the '
                f'weights of {self.describe()} (blocks of widths '
                + ' -> '.join(map(str, ours)) + ')')
        return self.resize(self.drop_classifier(state_dict, model), model)

    def resize(self, state_dict: StateDict, model: nn.Module) -> StateDict:
        """The absolute positions (``pos_embed``, one per patch of the
        frame, raster order) resized to the model's token grid, as timm
        resamples a ViT's (bicubic); the windowed variant's (abswin) are
        resized by the model itself at every forward."""
        key = 'pos_embed'
        pos = state_dict.get(key)
        if pos is None or model.pos_embed_win is not None or \
                pos.shape == model.pos_embed.shape:
            return state_dict
        side = math.isqrt(pos.shape[1])
        return dict(state_dict, **{key: resample_abs_pos_embed(
            pos, new_size=list(model.tokens_spatial_shape),
            old_size=[side, side], num_prefix_tokens=0)})
