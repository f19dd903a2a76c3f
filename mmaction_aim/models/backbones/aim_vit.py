"""AIM: a CLIP vision transformer adapted to video with small adapters."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from mmaction.registry import MODELS
from ..layers import AIMBlock
from ..layers.adapted_block import RECOMPUTABLE
from ..utils.clip_checkpoint import load_clip_visual_state_dict
from ..utils.convert import resize_positional_embedding
from .aim_base import ADAPTATIONS, AIMBackbone

#: CLIP's normalisation on the 0-255 scale.
CLIP_MEAN = (122.769, 116.74, 104.04)
CLIP_STD = (68.493, 66.63, 70.321)


@MODELS.register_module()
class AIMViT(AIMBackbone):
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

    The MLP's activation is part of the arch, because nothing in a CLIP
    checkpoint tells it: OpenAI's names (``'ViT-B/16'``, ...) and open_clip's
    ``*-quickgelu`` names use QuickGELU (OpenAI, DFN, MetaCLIP weights);
    open_clip's plain names (``'ViT-B-16'``, ``'ViT-L-14'``, ``'ViT-B-32'``)
    use exact GELU, as open_clip builds them (LAION, DataComp weights).

    Args:
        arch (str | dict): A name of :attr:`arch_zoo` (OpenAI's
            ``'ViT-B/16'``, ``'ViT-B/32'``, ``'ViT-L/14'``,
            ``'ViT-L/14-336'``; open_clip's ``'ViT-B-16'``,
            ``'ViT-B-16-quickgelu'``, ...), or a dict with ``patch_size``,
            ``width``, ``layers``, ``heads`` and optionally ``act``
            (``'quick_gelu'``, the default, or ``'gelu'``). Defaults to
            ``'ViT-B/16'``.
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

    #: CLIP archs. ``act`` is the MLP's activation: OpenAI's names and
    #: open_clip's ``-quickgelu`` names QuickGELU, open_clip's plain names
    #: exact GELU (as open_clip builds them).
    arch_zoo: Dict[str, dict] = {
        'ViT-B/32': dict(patch_size=32, width=768, layers=12, heads=12,
                         input_resolution=224, act='quick_gelu'),
        'ViT-B/16': dict(patch_size=16, width=768, layers=12, heads=12,
                         input_resolution=224, act='quick_gelu'),
        'ViT-L/14': dict(patch_size=14, width=1024, layers=24, heads=16,
                         input_resolution=224, act='quick_gelu'),
        'ViT-L/14-336': dict(patch_size=14, width=1024, layers=24, heads=16,
                             input_resolution=336, act='quick_gelu'),
    }
    for _name, _openai in (('ViT-B-32', 'ViT-B/32'), ('ViT-B-16', 'ViT-B/16'),
                           ('ViT-L-14', 'ViT-L/14'),
                           ('ViT-L-14-336', 'ViT-L/14-336')):
        arch_zoo[_name] = dict(arch_zoo[_openai], act='gelu')
        arch_zoo[_name + '-quickgelu'] = dict(arch_zoo[_openai])
    del _name, _openai

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
        super().__init__(
            num_frames=num_frames, num_tadapter=num_tadapter,
            adapter_scale=adapter_scale, adapter_mlp_ratio=adapter_mlp_ratio,
            drop_path_rate=drop_path_rate, adapters=adapters,
            adapter_layers=adapter_layers,
            temporal_embedding=temporal_embedding,
            freeze_image_model=freeze_image_model,
            freeze_ln_post=freeze_ln_post, pretrained=pretrained,
            with_cp=with_cp, recompute_frozen=recompute_frozen,
            init_cfg=init_cfg)
        arch = self._parse_arch(arch)
        self.patch_size = arch['patch_size']
        self.width = width = arch['width']
        self.layers = layers = arch['layers']
        self.heads = arch['heads']
        self.act = arch.get('act', 'quick_gelu')
        self.input_resolution = input_resolution or arch.get(
            'input_resolution', 224)
        if self.input_resolution % self.patch_size:
            raise ValueError(f'input_resolution {self.input_resolution} is '
                             f'not a multiple of patch {self.patch_size}')
        grid = self.input_resolution // self.patch_size

        # Stem: CLIP's patch embedding, class token and positions.
        self.conv1 = nn.Conv2d(3, width, kernel_size=self.patch_size,
                               stride=self.patch_size, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(
            torch.zeros(grid * grid + 1, width))
        self.build_temporal_embedding(width)
        self.ln_pre = nn.LayerNorm(width)

        self.transformer = nn.Module()
        self.transformer.resblocks = nn.Sequential(*[
            self.block_cls(width, self.heads, num_frames, act=self.act,
                           **args)
            for args in self.adaptation_args(layers)
        ])
        self.ln_post = nn.LayerNorm(width)

        self.reset_image_model()
        self.mark_trainable()

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

    def reset_image_model(self) -> None:
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

    @staticmethod
    def image_model_normalization(
            cfg: dict) -> Tuple[List[float], List[float]]:
        """CLIP's mean and std (OpenAI's, which open_clip's CLIPs share),
        0-255 scale."""
        return list(CLIP_MEAN), list(CLIP_STD)

    def output_norms(self) -> List[nn.Module]:
        return [self.ln_post]

    def describe(self) -> str:
        return (f'{self.width} wide, {self.layers} layers, patch '
                f'{self.patch_size}, {self.act}')

    def read_image_model(self, path: str) -> Dict[str, torch.Tensor]:
        """CLIP's visual tower from any CLIP file (the OpenAI TorchScript
        release, a CLIP or open_clip state dict, a visual-only file), its
        positions resized to this model's resolution."""
        state_dict = load_clip_visual_state_dict(path)
        if 'positional_embedding' in state_dict:
            state_dict['positional_embedding'] = resize_positional_embedding(
                state_dict['positional_embedding'],
                self.positional_embedding.shape[0])
        return state_dict

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        # Resize positions to this model's resolution before the shapes are
        # checked (the temporal embedding: AIMBackbone).
        key = prefix + 'positional_embedding'
        if key in state_dict:
            state_dict[key] = resize_positional_embedding(
                state_dict[key], self.positional_embedding.shape[0])
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
        self.check_frames(t)
        x = x.transpose(1, 2).reshape(b * t, c, h, w)  # [B*T, 3, H, W]
        x = self.conv1(x)  # [B*T, D, g, g]
        x = x.flatten(2).transpose(1, 2)  # [B*T, g*g, D]
        cls_token = self.class_embedding.to(x.dtype).expand(b * t, 1, -1)
        x = torch.cat([cls_token, x], dim=1)  # [B*T, N, D]
        x = x + self.positional_embedding.to(x.dtype)
        x = self.add_temporal_embedding(x, b)  # [B*T, N, D]
        return self.ln_pre(x)

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
        x = self.forward_blocks(x, self.transformer.resblocks)  # [B*T, N, D]
        x = self.ln_post(x[:, 0])  # [B*T, D]
        return x.view(b, t, -1).transpose(1, 2)  # [B, D, T]
