"""What an image-model weights file is for, read from its keys and shapes.

Pure functions over state dicts. A family compares :func:`vit_facts` of a
file with those of its own model *before* converting it, so that a file of
another model (DINOv2 weights in a SigLIP config, CLIP in SigLIP, DINOv2
with registers in DINOv2) is refused with a sentence saying what the file
is for, instead of failing inside a conversion function with a shape error.
"""
import re
from typing import Dict, Mapping, NamedTuple, Optional, Tuple

import torch

StateDict = Mapping[str, torch.Tensor]


class ViTFacts(NamedTuple):
    """The structure of a flat vision transformer, as its weights show it."""

    layout: str          # 'timm', 'clip' (OpenAI / open_clip), 'dinov2'
    width: int
    depth: int
    patch: int
    class_token: bool
    registers: int
    attention_pool: bool
    layer_scale: bool

    def describe(self) -> str:
        tokens = ('a class token' if self.class_token else 'no class token')
        tokens += (f' and {self.registers} register tokens'
                   if self.registers else ', no register tokens')
        parts = [f'{self.depth} blocks of width {self.width}',
                 f'patch {self.patch}', tokens]
        if self.attention_pool:
            parts.append('an attention-pool head')
        if self.layer_scale:
            parts.append('layer scale')
        name = {'clip': 'a CLIP vision tower (OpenAI / open_clip layout)',
                'dinov2': 'a DINOv2 ViT (original layout)',
                'timm': 'a ViT (timm layout)'}[self.layout]
        return f'{name}: {", ".join(parts)}'


#: The facts that must agree between a file and the model (the patch size
#: and the number of positions are resampled by timm's filter).
MUST_AGREE = ('width', 'depth', 'class_token', 'registers', 'attention_pool',
              'layer_scale')


def _depth(state_dict: StateDict, pattern: str) -> int:
    found = {int(m.group(1)) for k in state_dict
             for m in [re.match(pattern, k)] if m}
    return max(found) + 1 if found else 0


def block_widths(state_dict: StateDict) -> Dict[int, int]:
    """``block index -> width`` of a timm-layout state dict's blocks (the
    input width of each block's ``attn.qkv``)."""
    widths = {}
    for key, value in state_dict.items():
        m = re.match(r'blocks\.(\d+)\.attn\.qkv\.weight$', key)
        if m:
            widths[int(m.group(1))] = value.shape[1]
    return widths


def hierarchical_widths(state_dict: StateDict) -> Optional[Tuple[int, ...]]:
    """The distinct block widths, in order, of a hierarchical (pooling)
    ViT's state dict in timm's layout (Hiera: blocks widen at each stage),
    or None for any other file."""
    widths = block_widths(state_dict)
    distinct = tuple(dict.fromkeys(widths[i] for i in sorted(widths)))
    return distinct if len(distinct) > 1 else None


def vit_facts(state_dict: StateDict) -> Optional[ViTFacts]:
    """The :class:`ViTFacts` of a state dict in any layout timm's ViT filter
    reads (timm, OpenAI / open_clip CLIP, open_clip with a timm trunk,
    original DINOv2), or None (also for a hierarchical ViT's, whose blocks
    are of several widths)."""
    sd = state_dict
    for prefix in ('visual.trunk.', 'visual.'):
        if any(k.startswith(prefix) for k in sd):
            sd = {k[len(prefix):]: v for k, v in sd.items()
                  if k.startswith(prefix)}
            break
    if 'conv1.weight' in sd and 'class_embedding' in sd:
        conv = sd['conv1.weight']
        return ViTFacts('clip', conv.shape[0],
                        _depth(sd, r'transformer\.resblocks\.(\d+)\.'),
                        conv.shape[-1], True, 0, False, False)
    if 'patch_embed.proj.weight' not in sd or hierarchical_widths(sd):
        return None
    proj = sd['patch_embed.proj.weight']
    registers = sd.get('reg_token', sd.get('register_tokens'))
    return ViTFacts(
        'dinov2' if 'mask_token' in sd else 'timm', proj.shape[0],
        _depth(sd, r'blocks\.(\d+)\.'), proj.shape[-1], 'cls_token' in sd,
        0 if registers is None else registers.shape[1],
        any(k.startswith('attn_pool.') for k in sd),
        any(re.match(r'blocks\.0\.(ls1\.gamma|gamma_1)$', k) for k in sd))


def differences(file: ViTFacts, model: ViTFacts) -> Dict[str, tuple]:
    """``field -> (file's, model's)`` for the facts that must agree."""
    return {f: (getattr(file, f), getattr(model, f)) for f in MUST_AGREE
            if getattr(file, f) != getattr(model, f)}


def describe_state_dict(state_dict: StateDict) -> str:
    """A few words on what a state dict looks like, for error messages."""
    facts = vit_facts(state_dict)
    if facts is not None:
        return facts.describe()
    keys = list(state_dict)
    if any(k.startswith('backbone.') for k in keys) and any(
            k.startswith('cls_head.') for k in keys):
        return ('a whole video recognizer (backbone.*, cls_head.*), not an '
                "image model's weights: give it as load_from or to "
                'tools/test.py')
    if any(re.match(r'layers\.\d+\.blocks\.\d+\.', k) for k in keys):
        return 'a Swin Transformer'
    widths = hierarchical_widths(state_dict)
    if widths is not None:
        return (f'a hierarchical ViT (timm layout, Hiera-like): '
                f'{len(block_widths(state_dict))} blocks of widths '
                + ' -> '.join(map(str, widths)))
    if any(k.startswith(('vit.', 'embeddings.', 'encoder.layer.'))
           for k in keys):
        return 'a Hugging Face transformers model'
    return f'an unrecognised layout (keys {sorted(keys)[:5]} ...)'
