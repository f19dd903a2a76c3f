"""AIM on timm's Swin Transformer, as in the paper's Swin-B row."""
from typing import Dict, Iterator, List, Optional, Sequence, Union

import torch
from timm.models.swin_transformer import SwinTransformer
from timm.models.swin_transformer import \
    checkpoint_filter_fn as swin_filter_fn
from torch import nn

from mmaction.registry import MODELS
from ..families.base import UnsupportedImageModelError
from ..families.timm_swin import AIMSwinBlock
from ..utils.convert import inflate_patch_embedding
from ..utils.timm_checkpoint import read_timm_file
from .timm_image_model import TimmImageModelBackbone

@MODELS.register_module()
class AIMSwin(TimmImageModelBackbone):
    """timm's Swin Transformer with AIM's adaptations (Yang et al., ICLR
    2023; the original's ``SwinTransformer2D_Adapter``).

    ``timm.create_model(model_name, **timm_kwargs)`` builds the image model
    (``image_model``, timm's modules and names); its 2-D patch embedding
    becomes a tubelet embedding over ``tubelet_size`` frames (the 2-D weight
    repeated over them and divided by their number, on load), and its blocks
    are adapted in place (:class:`~..families.timm_swin.AIMSwinBlock`).
    Every time step then runs through timm's stages (windows, shifted
    windows, patch merging) as an image, the temporal adaptation connecting
    the time steps in the blocks ``temporal_blocks`` names.

    A fresh model fed clips whose frames come in identical groups of
    ``tubelet_size`` returns timm's own Swin features of each frame.

    Input ``[B, 3, T, H, W]``; output ``[B, C, T / tubelet_size, H', W']``
    after the final norm, as the original returns it (average-pooled by
    :class:`~..heads.AIMHead`).

    Args:
        model_name (str): A timm Swin name
            (``'swin_base_patch4_window7_224.ms_in22k'``).
        timm_kwargs (dict, optional): Passed on to ``timm.create_model``
            (``img_size``, ``depths``, ``window_size``, ...). Defaults to
            None.
        tubelet_size (int): Frames per time step of the patch embedding.
            Defaults to 2.
        temporal_blocks (str | Sequence[int]): Which blocks of every stage
            get temporal adaptation: ``'even'`` (the unshifted ones, as the
            original), ``'all'``, or indices within a stage. Defaults to
            ``'even'``.
        train_temporal_bias (bool): Train the temporal relative position
            bias tables. The original meant to (a new parameter) but its
            name-based freezing left them frozen at their random
            initialisation; they train here by default. Defaults to True.
        pretrained (str, optional): The image model's weights: a timm Swin
            file or an original Microsoft Swin file (``model`` key,
            downsampling at the end of stages), read by timm's loader and
            checkpoint filter (other resolutions and windows resized as
            timm does), then loaded strictly. Defaults to None.
        **kwargs: AIM's arguments (:class:`~.aim_base.AIMBackbone`):
            ``num_frames``, ``num_tadapter``, ``adapter_scale`` (the
            original hard-codes 0.5), ``adapter_mlp_ratio``,
            ``drop_path_rate``, ``adapters``, ``adapter_layers`` (indices
            over all blocks), ``temporal_embedding`` (default False here: the
            temporal bias orders time, as the original's ``t_relative``),
            ``freeze_image_model``, ``freeze_ln_post`` (the final ``norm``),
            ``with_cp``, ``recompute_frozen``, ``init_cfg``.
    """

    def __init__(self,
                 model_name: str,
                 timm_kwargs: Optional[dict] = None,
                 tubelet_size: int = 2,
                 temporal_blocks: Union[str, Sequence[int]] = 'even',
                 train_temporal_bias: bool = True,
                 temporal_embedding: bool = False,
                 **kwargs) -> None:
        super().__init__(model_name, timm_kwargs,
                         temporal_embedding=temporal_embedding, **kwargs)
        if self.num_frames % tubelet_size:
            raise ValueError(f'num_frames {self.num_frames} is not a '
                             f'multiple of tubelet_size {tubelet_size}')
        self.tubelet_size = tubelet_size
        self.time_steps = steps = self.num_frames // tubelet_size
        self.train_temporal_bias = train_temporal_bias
        image_model = self.create_image_model()
        if type(image_model) is not SwinTransformer:
            raise UnsupportedImageModelError(
                f'AIMSwin adapts timm SwinTransformer models; {model_name} '
                f'is a {type(image_model).__name__}')

        # The 2-D patch embedding as a tubelet embedding (same name).
        proj = image_model.patch_embed.proj
        image_model.patch_embed.proj = nn.Conv3d(
            proj.in_channels, proj.out_channels,
            kernel_size=(tubelet_size, *proj.kernel_size),
            stride=(tubelet_size, *proj.stride), bias=proj.bias is not None)
        with torch.no_grad():
            image_model.patch_embed.proj.weight.copy_(
                inflate_patch_embedding(proj.weight, tubelet_size))
            if proj.bias is not None:
                image_model.patch_embed.proj.bias.copy_(proj.bias)

        # Adapt every block in place; temporal only where asked.
        stages = list(image_model.layers)
        args = iter(self.adaptation_args(
            sum(len(stage.blocks) for stage in stages)))
        for stage in stages:
            blocks = []
            for i, block in enumerate(stage.blocks):
                block_args = next(args)
                block_args['temporal'] &= self._has_temporal(
                    temporal_blocks, i)
                blocks.append(AIMSwinBlock(block, block.dim, steps,
                                           **block_args))
            stage.blocks = nn.Sequential(*blocks)
        self.image_model = image_model
        self.width = image_model.num_features
        # One embedding per time step of the tubelet embedding, if asked.
        self.build_temporal_embedding(image_model.embed_dim, steps)
        self.mark_trainable()

    @staticmethod
    def _has_temporal(which: Union[str, Sequence[int]], index: int) -> bool:
        if which == 'even':
            return index % 2 == 0
        if which == 'all':
            return True
        if isinstance(which, str):
            raise ValueError(f"temporal_blocks: 'even', 'all' or indices, "
                             f'got {which!r}')
        return index in which

    # ------------------------------------------------- the family's parts
    def temporal_bias_tables(self) -> Iterator[nn.Parameter]:
        """Every block's temporal relative position bias table."""
        for block in self.adapted_blocks():
            if block.temporal_position_bias_table is not None:
                yield block.temporal_position_bias_table

    def new_modules(self) -> Iterator[Union[nn.Module, nn.Parameter]]:
        yield from super().new_modules()
        yield from self.temporal_bias_tables()

    def mark_trainable(self) -> None:
        super().mark_trainable()
        for table in self.temporal_bias_tables():
            table.requires_grad_(self.train_temporal_bias)

    def output_norms(self) -> List[nn.Module]:
        return [self.image_model.norm]

    @property
    def models_time(self) -> bool:
        # A tubelet embedding always takes exactly num_frames frames.
        return True

    def read_image_model(self, path: str) -> Dict[str, torch.Tensor]:
        """A timm or original Microsoft Swin file, through timm's reader and
        filter (:func:`read_timm_file`), its 2-D patch embedding inflated to
        the tubelet; keys under ``image_model.``."""
        with torch.device('meta'):
            plain = self.create_image_model()
        state_dict = read_timm_file(path, self.model_name, self.timm_kwargs,
                                    swin_filter_fn, plain)
        key = 'patch_embed.proj.weight'
        if key in state_dict and state_dict[key].dim() == 4:
            state_dict[key] = inflate_patch_embedding(state_dict[key],
                                                      self.tubelet_size)
        return {f'image_model.{k}': v for k, v in state_dict.items()}

    # ---------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features of a batch of clips.

        Args:
            x (torch.Tensor): ``[B, 3, T, H, W]``.

        Returns:
            torch.Tensor: ``[B, C, T', H', W']``, ``T' = T / tubelet_size``,
            after the final norm.
        """
        b, _, t = x.shape[:3]
        self.check_frames(t)
        model = self.image_model
        x = model.patch_embed.proj(x)  # [B, C, T', H/4, W/4]
        steps, h, w = x.shape[2:]
        x = x.permute(0, 2, 3, 4, 1).reshape(b * steps, h, w, -1)  # NHWC
        x = model.patch_embed.norm(x)
        if self.temporal_embedding is not None:
            x = self.add_temporal_embedding(x.flatten(1, 2), b).view(x.shape)
        for stage in model.layers:
            x = stage.downsample(x)  # [B*T', H, W, C]
            x = self.forward_blocks(x, stage.blocks)
        x = model.norm(x)  # [B*T', H', W', C]
        h, w, c = x.shape[1:]
        return x.view(b, steps, h, w, c).permute(0, 4, 1, 2, 3)
