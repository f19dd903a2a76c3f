"""AIM: a CLIP vision transformer adapted to video with small adapters."""
from typing import Dict, Optional, Sequence, Union

import torch
import torch.utils.checkpoint as cp
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import nn

from mmaction.registry import MODELS
from ..layers import Adapter, AIMBlock
from ..layers.aim_block import RECOMPUTABLE
from ..utils.clip_checkpoint import load_clip_visual_state_dict
from ..utils.convert import (resize_positional_embedding,
                             resize_temporal_embedding)

ADAPTATIONS = ('temporal', 'spatial', 'joint')


@MODELS.register_module()
class AIMViT(BaseModule):
    """CLIP ViT with AIM's temporal, spatial and joint adaptation.

    From "AIM: Adapting Image Models for Efficient Video Action Recognition"
    (Yang et al., ICLR 2023). Every frame runs through a CLIP image encoder
    whose blocks (:class:`AIMBlock`) carry bottleneck adapters; a learnable
    temporal embedding is added to every token of frame ``t``. The image
    model is frozen by default, so only the adapters, the temporal embedding
    and ``ln_post`` train.

    Sub-module names are CLIP's (``conv1``, ``class_embedding``,
    ``positional_embedding``, ``ln_pre``, ``transformer.resblocks.N``,
    ``ln_post``), so a CLIP visual state dict loads with its ``visual.``
    prefix stripped. CLIP's final projection ``proj`` is not used.

    Input ``[B, 3, T, H, W]``; output ``[B, D, T]``, the class token of every
    frame after ``ln_post``.

    Args:
        arch (str | dict): ``'ViT-B/16'``, ``'ViT-B/32'``, ``'ViT-L/14'``,
            ``'ViT-L/14-336'``, or a dict with ``patch_size``, ``width``,
            ``layers``, ``heads``. Defaults to ``'ViT-B/16'``.
        input_resolution (int, optional): Frame size. Defaults to the arch's
            own (224, or 336 for ``'ViT-L/14-336'``).
        num_frames (int): Frames ``T`` per clip. Defaults to 8.
        num_tadapter (int): 1, or 2 to add ``temporal_adapter_in`` (the
            Something-Something v2 recipe). Defaults to 1.
        adapter_scale (float): Scale of the joint adapter. Defaults to 0.5.
        adapter_mlp_ratio (float): Adapter bottleneck ratio. Defaults to 0.25.
        drop_path_rate (float): Drop-path rate, rising linearly over the
            blocks from 0. Defaults to 0.
        adapters (Sequence[str]): Which adaptations exist, any subset of
            ``('temporal', 'spatial', 'joint')``. ``()`` gives the plain image
            model. Defaults to all three.
        adapter_layers (Sequence[int], optional): Indices of the blocks that
            carry adapters (negative indices count from the end). Defaults to
            None (every block).
        temporal_embedding (bool): Add the learnable temporal embedding.
            Defaults to True.
        freeze_image_model (bool): Freeze the pre-trained image model (every
            parameter except the adapters, the temporal embedding and
            ``ln_post``). Defaults to True.
        freeze_ln_post (bool): Freeze ``ln_post`` too. Defaults to False.
        pretrained (str, optional): CLIP weights loaded by
            :meth:`init_weights`: the OpenAI TorchScript release, a CLIP or
            open_clip state dict, or a visual-only file. Defaults to None.
        with_cp (bool): Activation checkpointing of every block while
            training. Defaults to False.
        recompute_frozen (Sequence[str]): Frozen parts of every block,
            any of ``('temporal', 'spatial', 'mlp')``, recomputed in the
            backward pass rather than kept: the attention branches' ``ln_1``,
            ``in_proj`` and attention, the MLP's ``c_fc`` output. Each saves
            4 token tensors per block for one more forward product (see
            :class:`AIMBlock` and ``docs/benchmark.md``); ``()`` is the
            fastest, the default the leanest. Applies only to frozen parts,
            and not under ``with_cp``. Defaults to all three.
        init_cfg (dict, optional): MMEngine initialisation config. Defaults
            to None.
    """

    #: The block class; :class:`PlainAIMViT` swaps in the plain one.
    block_cls = AIMBlock

    arch_zoo: Dict[str, dict] = {
        'ViT-B/32': dict(patch_size=32, width=768, layers=12, heads=12,
                         input_resolution=224),
        'ViT-B/16': dict(patch_size=16, width=768, layers=12, heads=12,
                         input_resolution=224),
        'ViT-L/14': dict(patch_size=14, width=1024, layers=24, heads=16,
                         input_resolution=224),
        'ViT-L/14-336': dict(patch_size=14, width=1024, layers=24, heads=16,
                             input_resolution=336),
    }

    def __init__(self,
                 arch: Union[str, dict] = 'ViT-B/16',
                 input_resolution: Optional[int] = None,
                 num_frames: int = 8,
                 num_tadapter: int = 1,
                 adapter_scale: float = 0.5,
                 adapter_mlp_ratio: float = 0.25,
                 drop_path_rate: float = 0.,
                 adapters: Sequence[str] = ADAPTATIONS,
                 adapter_layers: Optional[Sequence[int]] = None,
                 temporal_embedding: bool = True,
                 freeze_image_model: bool = True,
                 freeze_ln_post: bool = False,
                 pretrained: Optional[str] = None,
                 with_cp: bool = False,
                 recompute_frozen: Sequence[str] = RECOMPUTABLE,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        arch = self._parse_arch(arch)
        unknown = set(adapters) - set(ADAPTATIONS)
        if unknown:
            raise ValueError(f'Unknown adaptations {sorted(unknown)}; '
                             f'choose from {ADAPTATIONS}')
        self.patch_size = arch['patch_size']
        self.width = width = arch['width']
        self.layers = layers = arch['layers']
        self.heads = arch['heads']
        self.input_resolution = input_resolution or arch.get(
            'input_resolution', 224)
        if self.input_resolution % self.patch_size:
            raise ValueError(f'input_resolution {self.input_resolution} is '
                             f'not a multiple of patch {self.patch_size}')
        self.num_frames = num_frames
        self.adapters = tuple(adapters)
        self.adapter_layers = self._parse_layers(adapter_layers, layers)
        self.freeze_image_model = freeze_image_model
        self.freeze_ln_post = freeze_ln_post
        self.pretrained = pretrained
        self.with_cp = with_cp
        grid = self.input_resolution // self.patch_size

        # Stem: CLIP's patch embedding, class token and positions.
        self.conv1 = nn.Conv2d(3, width, kernel_size=self.patch_size,
                               stride=self.patch_size, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(
            torch.zeros(grid * grid + 1, width))
        self.temporal_embedding = nn.Parameter(
            torch.zeros(1, num_frames, width)) if temporal_embedding else None
        self.ln_pre = nn.LayerNorm(width)

        # Linearly rising drop-path rates (plain Python: works on 'meta').
        dpr = [drop_path_rate * i / max(layers - 1, 1) for i in range(layers)]
        def has(adaptation: str, i: int) -> bool:
            return adaptation in adapters and i in self.adapter_layers

        self.transformer = nn.Module()
        self.transformer.resblocks = nn.Sequential(*[
            self.block_cls(width, self.heads, num_frames,
                           temporal=has('temporal', i),
                           spatial=has('spatial', i), joint=has('joint', i),
                           num_tadapter=num_tadapter,
                           adapter_scale=adapter_scale,
                           adapter_mlp_ratio=adapter_mlp_ratio,
                           drop_path=dpr[i], recompute=recompute_frozen)
            for i in range(layers)
        ])
        self.ln_post = nn.LayerNorm(width)
        # Whether the frame count is fixed by the model's parameters.
        self.models_time = temporal_embedding or any(
            b.temporal_adapter is not None for b in self.transformer.resblocks)

        self._init_image_model()
        self._set_trainable()

    # ------------------------------------------------------------------ setup
    @classmethod
    def _parse_arch(cls, arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            if arch not in cls.arch_zoo:
                raise KeyError(f'Unknown arch {arch!r}; choose from '
                               f'{sorted(cls.arch_zoo)} or give a dict')
            return dict(cls.arch_zoo[arch])
        missing = {'patch_size', 'width', 'layers', 'heads'} - set(arch)
        if missing:
            raise KeyError(f'arch dict lacks {sorted(missing)}')
        return dict(arch)

    @staticmethod
    def _parse_layers(adapter_layers: Optional[Sequence[int]],
                      layers: int) -> frozenset:
        if adapter_layers is None:
            return frozenset(range(layers))
        parsed = set()
        for i in adapter_layers:
            if not -layers <= i < layers:
                raise IndexError(f'adapter layer {i} out of range for '
                                 f'{layers} blocks')
            parsed.add(i % layers)
        return frozenset(parsed)

    def _init_image_model(self) -> None:
        """Initialise CLIP's parts as CLIP does (used without pretraining)."""
        scale = self.width**-0.5
        nn.init.normal_(self.class_embedding, std=scale)
        nn.init.normal_(self.positional_embedding, std=scale)
        attn_std = self.width**-0.5
        proj_std = attn_std * (2 * self.layers)**-0.5
        fc_std = (2 * self.width)**-0.5
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
            nn.init.zeros_(block.attn.in_proj_bias)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.zeros_(block.attn.out_proj.bias)
            nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
            nn.init.zeros_(block.mlp.c_fc.bias)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
            nn.init.zeros_(block.mlp.c_proj.bias)

    def new_modules(self):
        """The parameters AIM adds to the image model, by structure.

        Yields:
            nn.Module | nn.Parameter: every :class:`Adapter` and the temporal
            embedding.
        """
        for module in self.modules():
            if isinstance(module, Adapter):
                yield module
        if self.temporal_embedding is not None:
            yield self.temporal_embedding

    def _set_trainable(self) -> None:
        """Set ``requires_grad`` of every parameter from the config.

        Idempotent; re-applied by :meth:`train`, so the freezing survives
        ``model.train()``.
        """
        self.requires_grad_(not self.freeze_image_model)
        for new in self.new_modules():
            new.requires_grad_(True)
        self.ln_post.requires_grad_(not self.freeze_ln_post)

    def train(self, mode: bool = True) -> 'AIMViT':
        super().train(mode)
        self._set_trainable()
        return self

    def init_weights(self) -> None:
        """Initialise the adapters and load the pre-trained image model.

        Adapters get a zero output layer and the temporal embedding starts at
        zero, so the freshly initialised backbone computes exactly the image
        model's per-frame features. With ``pretrained`` set, CLIP's weights
        are loaded strictly: only AIM's new parameters may be missing, and no
        key may be unexpected.
        """
        self._init_image_model()
        for module in self.modules():
            if isinstance(module, Adapter):
                module.init_weights()
        if self.temporal_embedding is not None:
            nn.init.zeros_(self.temporal_embedding)
        if self.pretrained:
            self.load_image_model(self.pretrained)
        self._is_init = True

    def load_image_model(self, path: str) -> None:
        """Load pre-trained image weights (CLIP's layout) from ``path``.

        Positional embeddings are resized when the resolution differs.

        Raises:
            RuntimeError: naming the keys, if any image-model key is missing
                or any key is unexpected.
        """
        state_dict = load_clip_visual_state_dict(path)
        new_params = set()
        for new in self.new_modules():
            new_params.update(map(id, new.parameters()) if isinstance(
                new, nn.Module) else [id(new)])
        new_keys = {name for name, param in self.named_parameters()
                    if id(param) in new_params}
        incompatible = self.load_state_dict(state_dict, strict=False)
        missing = sorted(set(incompatible.missing_keys) - new_keys)
        unexpected = sorted(incompatible.unexpected_keys)
        if missing or unexpected:
            raise RuntimeError(
                f'{path} does not match AIMViT({self.width} wide, '
                f'{self.layers} layers, patch {self.patch_size}): missing '
                f'image-model keys {missing}; unexpected keys {unexpected}')
        MMLogger.get_current_instance().info(
            f'AIMViT: loaded the image model from {path} '
            f'({len(state_dict)} tensors; new, not in the file: '
            f'{len(incompatible.missing_keys)})')

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        # Resize positions and time steps to this model's resolution and
        # frame count before the shapes are checked.
        key = prefix + 'positional_embedding'
        if key in state_dict:
            state_dict[key] = resize_positional_embedding(
                state_dict[key], self.positional_embedding.shape[0])
        key = prefix + 'temporal_embedding'
        if key in state_dict and self.temporal_embedding is not None:
            state_dict[key] = resize_temporal_embedding(
                state_dict[key], self.num_frames)
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    # ---------------------------------------------------------------- forward
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Patch, class-token, positional and temporal embedding, ``ln_pre``.

        Args:
            x (torch.Tensor): Clips ``[B, 3, T, H, W]``.

        Returns:
            torch.Tensor: Tokens ``[B*T, N, D]`` (frames of a clip
            consecutive, class token first).
        """
        b, c, t, h, w = x.shape
        if t != self.num_frames and self.models_time:
            raise ValueError(f'AIMViT was built for {self.num_frames} frames '
                             f'but got {t}')
        x = x.transpose(1, 2).reshape(b * t, c, h, w)  # [B*T, 3, H, W]
        x = self.conv1(x)  # [B*T, D, g, g]
        x = x.flatten(2).transpose(1, 2)  # [B*T, g*g, D]
        cls_token = self.class_embedding.to(x.dtype).expand(b * t, 1, -1)
        x = torch.cat([cls_token, x], dim=1)  # [B*T, N, D]
        x = x + self.positional_embedding.to(x.dtype)
        if self.temporal_embedding is not None:
            n, d = x.shape[1:]
            x = x.view(b, t, n, d) + self.temporal_embedding.to(
                x.dtype).unsqueeze(2)  # [B, T, N, D]
            x = x.view(b * t, n, d)
        return self.ln_pre(x)

    def forward_blocks(self, x: torch.Tensor) -> torch.Tensor:
        """Run the transformer blocks on tokens ``[B*T, N, D]``."""
        for block in self.transformer.resblocks:
            if self.with_cp and self.training and torch.is_grad_enabled():
                # The whole block is recomputed: no selective recompute
                # inside it.
                x = cp.checkpoint(block, x, False, use_reentrant=False)
            else:
                x = block(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame features of a batch of clips.

        Args:
            x (torch.Tensor): ``[B, 3, T, H, W]``.

        Returns:
            torch.Tensor: ``[B, D, T]``, each frame's class token after
            ``ln_post``.
        """
        b, _, t = x.shape[:3]
        x = self.embed(x)  # [B*T, N, D]
        x = self.forward_blocks(x)  # [B*T, N, D]
        x = self.ln_post(x[:, 0])  # [B*T, D]
        return x.view(b, t, -1).transpose(1, 2)  # [B, D, T]
