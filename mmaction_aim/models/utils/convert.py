"""Pure functions that convert and resize checkpoints for AIM's models.

Every function takes and returns plain dicts or tensors and does no I/O, so
the backbone, the tools under ``tools/convert/`` and the tests share them.
"""
import math
import re
from typing import Dict, Mapping, Optional

import torch
import torch.nn.functional as F

StateDict = Dict[str, torch.Tensor]

# Sub-module names of the original AIM release -> ours.
_OFFICIAL_ADAPTER_NAMES = {
    'T_Adapter_in': 'temporal_adapter_in',
    'T_Adapter': 'temporal_adapter',
    'S_Adapter': 'spatial_adapter',
    'MLP_Adapter': 'joint_adapter',
}
_OFFICIAL_ADAPTER_RE = re.compile(
    r'^(.*\.(?:resblocks|blocks)\.\d+\.)'
    r'(T_Adapter_in|T_Adapter|S_Adapter|MLP_Adapter)'
    r'\.D_(fc1|fc2)\.(weight|bias)$')

#: The layouts of the original release's recognizers, by a key only each has.
OFFICIAL_LAYOUTS = {
    'clip_vit': 'backbone.transformer.resblocks.0.ln_1.weight',
    'imagenet_vit': 'backbone.blocks.0.norm1.weight',
    'swin': 'backbone.layers.0.blocks.0.norm1.weight',
}
# The original Swin's adapters: `S_Adapter2` (with skip) is its spatial
# adapter, on the window attention's output; `S_Adapter` (no skip) its joint
# adapter, beside the MLP.
_OFFICIAL_SWIN_ADAPTER_RE = re.compile(
    r'^backbone\.layers\.(\d+)\.blocks\.(\d+)\.(T_Adapter|S_Adapter2|S_Adapter)'
    r'\.D_(fc1|fc2)\.(weight|bias)$')
_OFFICIAL_SWIN_ADAPTER_NAMES = {
    'T_Adapter': 'temporal_adapter',
    'S_Adapter2': 'spatial_adapter',
    'S_Adapter': 'joint_adapter',
}
# Buffers the original Swin stored; timm and the TimmSwin family rebuild
# them.
_SWIN_BUFFERS = ('relative_position_index', 't_relative_coords',
                 'attn_mask')


def official_aim_layout(state_dict: Mapping[str, torch.Tensor]) -> str:
    """Which of the original release's layouts a state dict has.

    Returns:
        str: ``'clip_vit'`` (``ViT_CLIP``: our ``CLIPViT`` family),
        ``'imagenet_vit'`` (``ViT_ImageNet``: ``TimmViT`` on timm's
        ``vit_base_patch16_224``) or ``'swin'``
        (``SwinTransformer2D_Adapter``: ``TimmSwin``).

    Raises:
        KeyError: for any other layout.
    """
    keys = {k[len('module.'):] if k.startswith('module.') else k
            for k in state_dict}
    for layout, key in OFFICIAL_LAYOUTS.items():
        if key in keys:
            return layout
    raise KeyError('Not a checkpoint of the original AIM release: none of '
                   f'{sorted(OFFICIAL_LAYOUTS.values())} is in it')


def _official_swin_key(key: str) -> Optional[str]:
    """Our key for an original ``SwinTransformer2D_Adapter`` key (None: a
    buffer that is rebuilt, not loaded)."""
    if any(key.endswith(name) for name in _SWIN_BUFFERS):
        return None
    match = _OFFICIAL_SWIN_ADAPTER_RE.match(key)
    if match:
        stage, block, name, fc, param = match.groups()
        return (f'backbone.image_model.layers.{stage}.blocks.{block}.'
                f'{_OFFICIAL_SWIN_ADAPTER_NAMES[name]}.{fc}.{param}')
    if not key.startswith('backbone.'):
        return key  # the head
    rest = key[len('backbone.'):]
    # The temporal bias lives on our block, not in timm's window attention.
    rest = rest.replace('.attn.temporal_position_bias_table',
                        '.temporal_position_bias_table')
    # Downsampling at the end of stage i there, at the start of i + 1 in
    # timm (the same PatchMerging otherwise).
    rest = re.sub(r'^layers\.(\d+)\.downsample',
                  lambda m: f'layers.{int(m.group(1)) + 1}.downsample', rest)
    return 'backbone.image_model.' + rest


def _official_key(key: str, layout: str) -> Optional[str]:
    if layout == 'swin':
        return _official_swin_key(key)
    match = _OFFICIAL_ADAPTER_RE.match(key)
    if match:
        prefix, name, fc, param = match.groups()
        key = f'{prefix}{_OFFICIAL_ADAPTER_NAMES[name]}.{fc}.{param}'
    elif 'Adapter' in key:
        raise KeyError(f'Unrecognised adapter key in an original AIM '
                       f'checkpoint: {key!r}')
    if key.startswith('backbone.') and key != 'backbone.temporal_embedding':
        # The image model's own names under the backbone's image_model; the
        # final norm the original's ImageNet ViT calls ln_post is timm's
        # norm.
        rest = key[len('backbone.'):]
        if layout == 'imagenet_vit' and rest.startswith('ln_post.'):
            rest = 'norm.' + rest[len('ln_post.'):]
        key = 'backbone.image_model.' + rest
    return key


def convert_official_aim(state_dict: Mapping[str, torch.Tensor],
                         layout: Optional[str] = None) -> StateDict:
    """Map a released original-AIM recognizer state dict to our key layout.

    The layout is detected (:func:`official_aim_layout`):

    * CLIP ViT (``ViT_CLIP``):
      ``backbone.transformer.resblocks.N.{T_Adapter_in, T_Adapter,
      S_Adapter, MLP_Adapter}.D_fc{1,2}.*`` become
      ``...{temporal_adapter_in, temporal_adapter, spatial_adapter,
      joint_adapter}.fc{1,2}.*``; CLIP's names go under
      ``backbone.image_model.``; ``temporal_embedding`` and
      ``cls_head.fc_cls.*`` are kept (family ``CLIPViT``);
    * ImageNet ViT (``ViT_ImageNet``): the adapters likewise under
      ``blocks.N``; timm's names go under ``backbone.image_model.``, the
      final ``ln_post`` becomes timm's ``norm``; ``temporal_embedding`` and
      the head are kept (family ``TimmViT`` on ``vit_base_patch16_224``);
    * Swin (``SwinTransformer2D_Adapter``): ``T_Adapter``, ``S_Adapter2``
      (its spatial adapter, with skip) and ``S_Adapter`` (its joint adapter)
      become ``temporal_adapter``, ``spatial_adapter``, ``joint_adapter``;
      ``attn.temporal_position_bias_table`` moves to the block;
      ``layers.i.downsample`` becomes timm's ``layers.(i+1).downsample``;
      everything under ``backbone.image_model.``; the stored buffers
      (``relative_position_index``, ``t_relative_coords``, ``attn_mask``)
      are dropped (family ``TimmSwin``).

    A ``module.`` prefix left by distributed training is removed.

    Args:
        state_dict (Mapping[str, torch.Tensor]): The original ``state_dict``
            (the value under ``'state_dict'`` of a released file), or any
            part of one (gradients, say) when ``layout`` is given.
        layout (str, optional): The layout (:func:`official_aim_layout`).
            Defaults to None: detected from ``state_dict``.

    Returns:
        dict: The converted state dict, in the same order.
    """
    layout = layout or official_aim_layout(state_dict)
    converted = {}
    for key, value in state_dict.items():
        if key.startswith('module.'):
            key = key[len('module.'):]
        key = _official_key(key, layout)
        if key is not None:
            converted[key] = value
    return converted


def upgrade_layout(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """A recognizer state dict of mmaction-aim 0.1 in today's layout.

    Version 0.1 kept the CLIP image model's keys at the root of the
    backbone (``backbone.conv1.weight``, ``backbone.transformer.
    resblocks.N.*``, ...); they now live under ``backbone.image_model.``
    like every family's. Other state dicts are returned unchanged.

    Args:
        state_dict (Mapping[str, torch.Tensor]): A recognizer state dict.

    Returns:
        dict: The same tensors, keys in today's layout.
    """
    if 'backbone.conv1.weight' not in state_dict:
        return dict(state_dict)
    keep = ('backbone.temporal_embedding', )
    return {('backbone.image_model.' + k[len('backbone.'):]
             if k.startswith('backbone.') and k not in keep else k): v
            for k, v in state_dict.items()}


def inflate_patch_embedding(weight: torch.Tensor,
                            tubelet_size: int) -> torch.Tensor:
    """A 2-D patch embedding ``[C, 3, p, p]`` as a tubelet one
    ``[C, 3, t, p, p]``: repeated over ``t`` frames and divided by ``t``, so
    it gives the 2-D result on any ``t`` identical frames.

    Args:
        weight (torch.Tensor): ``[C, 3, p, p]``.
        tubelet_size (int): ``t``.

    Returns:
        torch.Tensor: ``[C, 3, t, p, p]``.
    """
    return weight.unsqueeze(2).repeat(1, 1, tubelet_size, 1, 1) / \
        tubelet_size


def resize_positional_embedding(pos_embed: torch.Tensor,
                                num_tokens: int) -> torch.Tensor:
    """Resize CLIP's ``[1 + g*g, D]`` positional embedding to another grid.

    The class-token row is kept; the ``g x g`` grid is resized bicubically.

    Args:
        pos_embed (torch.Tensor): ``[1 + g*g, D]``.
        num_tokens (int): Target ``1 + g'*g'``.

    Returns:
        torch.Tensor: ``[num_tokens, D]`` (``pos_embed`` itself if unchanged).
    """
    if pos_embed.shape[0] == num_tokens:
        return pos_embed
    old_grid = math.isqrt(pos_embed.shape[0] - 1)
    new_grid = math.isqrt(num_tokens - 1)
    if old_grid**2 + 1 != pos_embed.shape[0] or new_grid**2 + 1 != num_tokens:
        raise ValueError(
            f'Cannot resize a positional embedding of {pos_embed.shape[0]} '
            f'tokens to {num_tokens}: both must be 1 + a square.')
    cls_pos, grid_pos = pos_embed[:1], pos_embed[1:]
    dims = pos_embed.shape[1]
    # [g*g, D] -> [1, D, g, g]
    grid = grid_pos.float().reshape(1, old_grid, old_grid, dims)
    grid = grid.permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(new_grid, new_grid), mode='bicubic',
                         align_corners=False)
    # [1, D, g', g'] -> [g'*g', D]
    grid = grid.permute(0, 2, 3, 1).reshape(new_grid * new_grid, dims)
    return torch.cat([cls_pos, grid.to(pos_embed.dtype)], dim=0)


def resize_temporal_embedding(temporal_embed: torch.Tensor,
                              num_frames: int) -> torch.Tensor:
    """Linearly interpolate a ``[1, T, D]`` temporal embedding to new ``T``.

    Lets a model trained at 8 frames be tested at 16 frames.

    Args:
        temporal_embed (torch.Tensor): ``[1, T, D]``.
        num_frames (int): Target ``T'``.

    Returns:
        torch.Tensor: ``[1, T', D]`` (the input itself if unchanged).
    """
    if temporal_embed.shape[1] == num_frames:
        return temporal_embed
    embed = temporal_embed.float().transpose(1, 2)  # [1, D, T]
    if embed.shape[2] == 1:
        embed = embed.expand(-1, -1, num_frames)
    else:
        embed = F.interpolate(embed, size=num_frames, mode='linear',
                              align_corners=True)
    return embed.transpose(1, 2).to(temporal_embed.dtype).contiguous()
