"""CLIP's vision transformer (OpenAI, open_clip): QuickGELU or GELU."""
from typing import Dict, List, Optional, Tuple, Union

import torch
from torch import nn

from ...checkpoint import (ImageModelMismatchError, StateDict, select_prefix,
                           to_float32)
from ...utils.errors import BadInputError
from ..layers.adapted_block import AdaptedBlock, BlockParts
from ..layers.clip_layers import CLIPVisionTransformer, ResidualAttentionBlock
from ..utils.convert import resize_positional_embedding
from .base import ImageModelFacts, ImageModelFamily, Stage
from .weight_files import describe_state_dict, differences, vit_facts
from .registry import FAMILIES

#: CLIP's normalisation on the 0-255 scale (OpenAI's; open_clip's CLIPs
#: share it).
CLIP_MEAN = (122.769, 116.74, 104.04)
CLIP_STD = (68.493, 66.63, 70.321)


class AIMBlock(AdaptedBlock):
    """CLIP's block (``ln_1``, ``attn``, ``ln_2``, ``mlp``) with AIM's
    adaptations (:class:`~..layers.AdaptedBlock`).

    CLIP's attention is called for speed:

    * ``out_proj`` stays outside the recomputed part (a frozen product keeps
      nothing for the backward pass, so recomputing it would buy nothing);
    * the frozen MLP keeps only its input
      (:func:`~..layers.frozen_ops.clip_mlp`).

    Memory: each attention branch keeps, for the backward pass, its input
    (for ``ln_1``), q, k, v and the attention output (for the fused
    kernel): five token tensors; the frozen MLP keeps ``c_fc``'s output,
    four. Named in ``recompute``, and while frozen, these are recomputed in
    the backward pass instead of kept: ``'temporal'``, ``'spatial'``: 4
    token tensors less for one more ``in_proj`` product and attention
    forward; ``'mlp'``: 4 token tensors less for one more ``c_fc`` product.
    Outputs and gradients are unchanged.
    """

    def attention(self, h: torch.Tensor) -> torch.Tensor:
        return self.attn.attend(h)  # out_proj in project()

    def project(self, h: torch.Tensor) -> torch.Tensor:
        return self.attn.out_proj(h)

    def mlp_forward(self, h: torch.Tensor, recompute: bool) -> torch.Tensor:
        return self.mlp(h, recompute)


#: Where CLIP's block keeps its parts (no layer scales).
CLIP_BLOCK = BlockParts(norm1='ln_1', norm2='ln_2', scale1=None,
                        scale2=None, adapted=AIMBlock)


@FAMILIES.register_module()
class CLIPViT(ImageModelFamily):
    """CLIP's vision transformer (OpenAI's release, open_clip's models).

    The image model is :class:`~..layers.clip_layers.CLIPVisionTransformer`
    under CLIP's own names (``conv1``, ``class_embedding``,
    ``positional_embedding``, ``ln_pre``, ``transformer.resblocks.N``,
    ``ln_post``); per frame, AIM's temporal embedding is added to every
    token before ``ln_pre``; the output is every frame's class token after
    ``ln_post``, ``[B, D, T]``. CLIP's final projection is not used.

    The MLP's activation is part of the arch, because nothing in a CLIP
    checkpoint tells it: OpenAI's names (``'ViT-B/16'``, ...) and open_clip's
    ``*-quickgelu`` names use QuickGELU (OpenAI, DFN, MetaCLIP weights);
    open_clip's plain names (``'ViT-B-16'``, ``'ViT-L-14'``, ``'ViT-B-32'``)
    use exact GELU, as open_clip builds them (LAION, DataComp weights).

    Weights: the OpenAI TorchScript release (read as data), a CLIP or
    open_clip state dict or checkpoint (``.pt``, ``.bin``,
    ``.safetensors``), or a visual-only file; positions are resized to the
    model's resolution.

    Args:
        num_frames (int): Frames per clip (given by the backbone).
        arch (str | dict): A name of :attr:`arch_zoo`, or a dict with
            ``patch_size``, ``width``, ``layers``, ``heads`` and optionally
            ``act`` (``'quick_gelu'``, the default, or ``'gelu'``).
            Defaults to ``'ViT-B/16'``.
        input_resolution (int, optional): Frame size. Defaults to the
            arch's own (224, or 336 for ``'ViT-L/14-336'``).
    """

    block_types = {ResidualAttentionBlock: CLIP_BLOCK}
    normalization = (list(CLIP_MEAN), list(CLIP_STD))

    #: CLIP archs; ``act`` is the MLP's activation.
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

    def __init__(self, num_frames: int, arch: Union[str, dict] = 'ViT-B/16',
                 input_resolution: Optional[int] = None) -> None:
        super().__init__(num_frames)
        if isinstance(arch, str):
            if arch not in self.arch_zoo:
                raise BadInputError(
                    f'image_model.arch (model.backbone.image_model.arch): '
                    f'unknown CLIP arch {arch!r}; choose from '
                    f'{sorted(self.arch_zoo)} or give a dict')
            self.arch_name, arch = arch, dict(self.arch_zoo[arch])
        else:
            missing = {'patch_size', 'width', 'layers', 'heads'} - set(arch)
            if missing:
                raise BadInputError(
                    'image_model.arch (model.backbone.image_model.arch): a '
                    f'CLIP arch dict lacks {sorted(missing)}')
            arch = dict(arch)
            self.arch_name = (f'patch {arch["patch_size"]}, width '
                              f'{arch["width"]}, {arch["layers"]} layers')
        arch.setdefault('act', 'quick_gelu')
        if input_resolution is not None:
            arch['input_resolution'] = input_resolution
        arch.setdefault('input_resolution', 224)
        self.arch = arch

    def build(self) -> CLIPVisionTransformer:
        return CLIPVisionTransformer(**self.arch)

    def stages(self, model: CLIPVisionTransformer) -> List[Stage]:
        return [(nn.Identity(), model.transformer.resblocks)]

    def embed(self, model: CLIPVisionTransformer, x: torch.Tensor
              ) -> Tuple[torch.Tensor, dict]:
        b, c, t, h, w = x.shape
        x = x.transpose(1, 2).reshape(b * t, c, h, w)  # [B*T, 3, H, W]
        return model.embed(x), {}  # [B*T, N, D]

    def pre_blocks(self, model: CLIPVisionTransformer,
                   x: torch.Tensor) -> torch.Tensor:
        return model.ln_pre(x)

    def output(self, model: CLIPVisionTransformer, x: torch.Tensor,
               batch: int) -> torch.Tensor:
        x = model.ln_post(x[:, 0])  # [B*T, D]
        return x.view(batch, -1, x.shape[-1]).transpose(1, 2)  # [B, D, T]

    def facts(self, model: CLIPVisionTransformer) -> ImageModelFacts:
        return ImageModelFacts(width=model.width, token_width=model.width,
                               input_size=model.input_resolution,
                               fixed_input_size=True,
                               output_norms=('ln_post', ))

    def convert(self, state_dict: StateDict, model: nn.Module,
                name: str) -> StateDict:
        """CLIP's visual tower from a whole CLIP (``visual.*``, the text
        tower dropped) or a visual-only state dict, float32, without the
        final projection, positions resized to the model's grid."""
        facts = vit_facts(state_dict)
        if facts is None or facts.layout != 'clip':
            raise ImageModelMismatchError(
                f'{name} holds {describe_state_dict(state_dict)}, not a '
                f'CLIP vision tower for {self.describe()}')
        ours = vit_facts(model.state_dict(keep_vars=True))
        wrong = differences(facts, ours)
        if wrong or facts.patch != ours.patch:
            raise ImageModelMismatchError(
                f'{name} is a CLIP of {facts.depth} blocks of width '
                f'{facts.width}, patch {facts.patch}; the config\'s image '
                f'model is {self.describe()}')
        if any(k.startswith('visual.') for k in state_dict):
            state_dict = select_prefix(state_dict, 'visual.')
        state_dict = to_float32({k: v for k, v in state_dict.items()
                                 if k != 'proj'})
        return self.resize(state_dict, model)

    def resize(self, state_dict: StateDict, model: nn.Module) -> StateDict:
        """Positions resized (bicubic, on the patch grid) to the model's
        resolution."""
        key = 'positional_embedding'
        if key not in state_dict:
            return state_dict
        return dict(state_dict, **{key: resize_positional_embedding(
            state_dict[key], model.positional_embedding.shape[0])})

    def weights_advice(self) -> str:
        return ("The CLIP configs start from OpenAI's release: download "
                'ViT-B-16.pt (ViT-L-14.pt, ...) from the URLs in openai/CLIP '
                '(clip/clip.py) and place it there, or point '
                'model.backbone.pretrained at any CLIP or open_clip file '
                '(.pt, .bin, .safetensors); tools/convert/convert_clip.py '
                'writes a small visual-only copy. See docs/model.md, '
                '"CLIP weights".')

    @classmethod
    def tiny_config(cls, cfg: dict, width: int, depth: int) -> dict:
        arch = cfg.get('arch', 'ViT-B/16')
        arch = dict(cls.arch_zoo[arch] if isinstance(arch, str) else arch)
        resolution = cfg.get('input_resolution') or arch.pop(
            'input_resolution', 224)
        arch.pop('input_resolution', None)
        return dict(cfg, input_resolution=resolution, arch=dict(
            patch_size=arch['patch_size'], width=width, layers=depth,
            heads=2, act=arch.get('act', 'quick_gelu')))

    @classmethod
    def config_for_size(cls, cfg: dict, size: int) -> dict:
        return dict(cfg, input_resolution=size)

    def describe(self) -> str:
        return f'CLIP {self.arch_name} ({self.arch["act"]})'

    def identity(self) -> Dict[str, str]:
        return dict(family=type(self).__name__, name=self.arch_name,
                    act=self.arch['act'])
