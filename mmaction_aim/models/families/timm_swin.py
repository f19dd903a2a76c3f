"""timm's Swin Transformer: a hierarchical image model adapted by AIM, as
in the paper's Swin-B row (the original's ``SwinTransformer2D_Adapter``)."""
import re
from typing import List, Sequence, Tuple, Union

import torch

from timm.layers import resample_patch_embed, resize_rel_pos_bias_table
from timm.models.swin_transformer import (SwinTransformer,
                                          SwinTransformerBlock)
from torch import nn
from torch.nn.init import trunc_normal_

from ...checkpoint import ImageModelMismatchError, StateDict
from ...utils.errors import BadInputError
from ..layers.adapted_block import AdaptedBlock, BlockParts
from ..layers.projected_attention import projected_attention
from ..utils.convert import inflate_patch_embedding
from .base import ImageModelFacts, Stage
from .weight_files import describe_state_dict
from .registry import FAMILIES
from .timm_common import TimmFamily


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
        parts (BlockParts): :data:`SWIN_BLOCK`.
        num_frames (int): Time steps ``T`` (frames / tubelet size).
        **kwargs: The adaptation's arguments
            (:class:`~..layers.AdaptedBlock`).
    """

    own_parameters = ('temporal_position_bias_table', )

    def __init__(self, block: SwinTransformerBlock, parts: BlockParts,
                 num_frames: int, **kwargs) -> None:
        super().__init__(block, parts, num_frames, **kwargs)
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

    def attention(self, h: torch.Tensor) -> torch.Tensor:
        return SwinTransformerBlock._attn(self, h)  # windows, NHWC

    def attention_along_time(self, h: torch.Tensor) -> torch.Tensor:
        bias = self.temporal_position_bias_table[
            self.temporal_position_index]  # [T, T, heads]
        return projected_attention(self.attn, h, bias.permute(2, 0, 1))


#: timm's Swin block: timm's names, no layer scales.
SWIN_BLOCK = BlockParts(scale1=None, scale2=None, adapted=AIMSwinBlock)


@FAMILIES.register_module()
class TimmSwin(TimmFamily):
    """timm's Swin Transformer, a hierarchical image model (the paper's
    Swin-B row).

    Its 2-D patch embedding becomes a tubelet embedding over
    ``tubelet_size`` frames (the 2-D weight repeated over them and divided
    by their number, on load), so a clip has ``T / tubelet_size`` time
    steps; each runs through timm's stages (windows, shifted windows, patch
    merging) as an image, the temporal adaptation connecting the time steps
    in the blocks ``temporal_blocks`` names. A fresh model fed clips whose
    frames come in identical groups of ``tubelet_size`` returns timm's own
    Swin features of each frame.

    Output ``[B, C, T', H', W']`` after the final norm, as the original
    returns it (average-pooled by :class:`~...heads.AIMHead`).

    Args:
        num_frames (int): Frames per clip (given by the backbone).
        model_name (str): A timm Swin name
            (``'swin_base_patch4_window7_224.ms_in22k'``).
        timm_kwargs (dict, optional): ``timm.create_model`` arguments
            (``img_size``, ``depths``, ``window_size``, ...).
        tubelet_size (int): Frames per time step of the patch embedding.
            Defaults to 2.
        temporal_blocks (str | Sequence[int]): Which blocks of every stage
            get temporal adaptation: ``'even'`` (the unshifted ones, as the
            original), ``'all'``, or indices within a stage. Defaults to
            ``'even'``.
        train_temporal_bias (bool): Train the temporal relative position
            bias tables. The original meant to (a new parameter) but its
            name-based freezing left them frozen at their random
            initialisation. Defaults to True.
    """

    model_cls = SwinTransformer
    block_types = {SwinTransformerBlock: SWIN_BLOCK}
    # The temporal relative position bias orders time (the original's
    # t_relative): no temporal embedding unless asked for.
    temporal_embedding = False
    # The original's Swin drops its temporal branch laid out as
    # [(B*N), T, C] (one draw per clip and position), its joint branch as
    # [B*T, H, W, C] (one per frame).
    original_drop_path = dict(temporal=('clip', 'token'),
                              joint=('clip', 'frame'))

    def __init__(self, num_frames: int, model_name: str,
                 timm_kwargs: dict = None, tubelet_size: int = 2,
                 temporal_blocks: Union[str, Sequence[int]] = 'even',
                 train_temporal_bias: bool = True) -> None:
        super().__init__(num_frames, model_name, timm_kwargs)
        if num_frames % tubelet_size:
            raise BadInputError(
                f'model.backbone.num_frames {num_frames} is not a multiple of '
                f'the Swin tubelet size {tubelet_size} '
                '(model.backbone.image_model.tubelet_size)')
        if isinstance(temporal_blocks, str) and temporal_blocks not in (
                'even', 'all'):
            raise ValueError(f"temporal_blocks: 'even', 'all' or indices, "
                             f'got {temporal_blocks!r}')
        self.tubelet_size = tubelet_size
        self.time_steps = num_frames // tubelet_size
        self.temporal_blocks = temporal_blocks
        self.trains_new_parameters = train_temporal_bias

    @classmethod
    def tiny_config(cls, cfg: dict, width: int, depth: int) -> dict:
        # Two stages of ``depth`` blocks, 2 and 4 heads.
        return dict(cfg, timm_kwargs=dict(cfg.get('timm_kwargs') or {},
                                          embed_dim=width,
                                          depths=(depth, depth),
                                          num_heads=(2, 4)))

    def build(self) -> nn.Module:
        model = super().build()
        # The 2-D patch embedding as a tubelet embedding (same name).
        proj = model.patch_embed.proj
        model.patch_embed.proj = nn.Conv3d(
            proj.in_channels, proj.out_channels,
            kernel_size=(self.tubelet_size, *proj.kernel_size),
            stride=(self.tubelet_size, *proj.stride),
            bias=proj.bias is not None)
        with torch.no_grad():
            model.patch_embed.proj.weight.copy_(
                inflate_patch_embedding(proj.weight, self.tubelet_size))
            if proj.bias is not None:
                model.patch_embed.proj.bias.copy_(proj.bias)
        return model

    def stages(self, model: SwinTransformer) -> List[Stage]:
        return [(stage.downsample, stage.blocks) for stage in model.layers]

    def adapt_block(self, block: nn.Module, stage: int, index: int,
                    **aim_kwargs) -> AdaptedBlock:
        which = self.temporal_blocks
        aim_kwargs['temporal'] &= (index % 2 == 0 if which == 'even' else
                                   which == 'all' or index in which)
        return super().adapt_block(block, stage, index, **aim_kwargs)

    def embed(self, model: SwinTransformer, x: torch.Tensor
              ) -> Tuple[torch.Tensor, dict]:
        b = x.shape[0]
        x = model.patch_embed.proj(x)  # [B, C, T', H/4, W/4]
        steps, h, w = x.shape[2:]
        x = x.permute(0, 2, 3, 4, 1).reshape(b * steps, h, w, -1)  # NHWC
        return model.patch_embed.norm(x), {}  # [B*T', H, W, C]

    def output(self, model: SwinTransformer, x: torch.Tensor,
               batch: int) -> torch.Tensor:
        x = model.norm(x)  # [B*T', H', W', C]
        h, w, c = x.shape[1:]
        return x.view(batch, -1, h, w, c).permute(0, 4, 1, 2, 3)

    def facts(self, model: SwinTransformer) -> ImageModelFacts:
        return ImageModelFacts(
            width=model.num_features, token_width=model.embed_dim,
            input_size=int(model.patch_embed.img_size[0]),
            fixed_input_size=True, output_norms=('norm', ))

    def convert(self, state_dict: StateDict, model: nn.Module,
                name: str) -> StateDict:
        """A timm or original Microsoft Swin file (timm's checkpoint filter:
        downsampling moved, tables resized), its 2-D patch embedding
        inflated to the tubelet."""
        if not any(k.startswith('layers.0.blocks.0.') for k in state_dict):
            raise ImageModelMismatchError(
                f'{name} holds {describe_state_dict(state_dict)}, not the '
                f'weights of {self.describe()}')
        with torch.device('meta'):
            plain = TimmFamily.build(self)
        ours = {k: v.shape for k, v in plain.state_dict().items()}
        theirs = state_dict.get('patch_embed.proj.weight')
        if theirs is not None and theirs.shape[0] != ours[
                'patch_embed.proj.weight'][0]:
            raise ImageModelMismatchError(
                f'{name} is a Swin of width {theirs.shape[0]}; '
                f'{self.describe()} is {ours["patch_embed.proj.weight"][0]} '
                'wide')
        state_dict = fit_swin_shapes(to_timm_swin_layout(state_dict), plain)
        state_dict = self.drop_classifier(state_dict, plain)
        key = 'patch_embed.proj.weight'
        if key in state_dict and state_dict[key].dim() == 4:
            state_dict[key] = inflate_patch_embedding(state_dict[key],
                                                      self.tubelet_size)
        return state_dict


def to_timm_swin_layout(state_dict: StateDict) -> StateDict:
    """Microsoft's Swin layout renamed to timm's (a timm file unchanged).

    Microsoft's stages end with their patch merging (stage 0 has one), timm's
    begin with it (stage 0 has none): ``layers.i.downsample`` becomes
    ``layers.{i+1}.downsample``, and the classifier ``head.`` ``head.fc.``.
    Told apart by stage 0's merging, not by the classifier, which headless
    files lack (timm 1.0.21's own filter misreads those as Microsoft's).
    """
    if 'layers.0.downsample.reduction.weight' not in state_dict:
        return dict(state_dict)

    def rename(key: str) -> str:
        key = re.sub(r'^layers\.(\d+)\.downsample\.',
                     lambda m: f'layers.{int(m.group(1)) + 1}.downsample.',
                     key)
        return 'head.fc.' + key[len('head.'):] if key.startswith(
            'head.') else key

    return {rename(k): v for k, v in state_dict.items()}


def fit_swin_shapes(state_dict: StateDict, model: SwinTransformer
                    ) -> StateDict:
    """A timm-layout Swin file fitted to ``model``'s sizes: the buffers it
    rebuilds dropped, the 2-D patch embedding resampled to its patch size and
    the relative position tables to its windows (timm's resampling)."""
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    out = {}
    for key, value in state_dict.items():
        if key.endswith(('relative_position_index', 'attn_mask')):
            continue
        if key == 'patch_embed.proj.weight' and value.dim() == 4 and \
                value.shape[-2:] != shapes[key][-2:]:
            value = resample_patch_embed(value, list(shapes[key][-2:]),
                                         interpolation='bicubic',
                                         antialias=True)
        if key.endswith('.relative_position_bias_table') and key in shapes:
            attn = model.get_submodule(key.rsplit('.', 1)[0])
            if value.shape != shapes[key] or \
                    attn.window_size[0] != attn.window_size[1]:
                value = resize_rel_pos_bias_table(
                    value, new_window_size=attn.window_size,
                    new_bias_shape=shapes[key])
        out[key] = value
    return out
