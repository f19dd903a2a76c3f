#!/usr/bin/env python
"""Write CLIP's visual tower once as a plain, visual-only state dict.

Reads any CLIP file the ``CLIPViT`` family reads (the OpenAI TorchScript
release, read without running its code; a CLIP or open_clip state dict or
checkpoint, ``.pt``, ``.bin`` or ``.safetensors``) and writes a float32
state dict under CLIP's visual names, loadable with
``torch.load(weights_only=True)`` and by ``backbone.pretrained``::

    python tools/convert/convert_clip.py ViT-B-16.pt \
        checkpoints/clip/vit-b16_visual.pth
"""
import argparse
import os
import re

import torch

from mmaction_aim.checkpoint import (ImageModelMismatchError, read_checkpoint,
                                     strip_prefix, unwrap)
from mmaction_aim.models.families import CLIPViT
from mmaction_aim.models.families.weight_files import (describe_state_dict,
                                                    vit_facts)
from mmaction_aim.utils import main_with_clear_errors


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Extract the CLIP visual tower as a plain state dict')
    parser.add_argument('src', help='OpenAI .pt, CLIP / open_clip state dict '
                        'or checkpoint (.pt, .bin, .safetensors)')
    parser.add_argument('dst', help='visual-only state dict to write')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    state = strip_prefix(unwrap(read_checkpoint(args.src), name=args.src))
    facts = vit_facts(state)
    if facts is None or facts.layout != 'clip':
        raise ImageModelMismatchError(
            f'{args.src} holds {describe_state_dict(state)}, not a CLIP')
    # The file's own size and resolution (heads do not change any shape).
    positions = state.get('visual.positional_embedding',
                          state.get('positional_embedding'))
    family = CLIPViT(
        num_frames=1,
        arch=dict(patch_size=facts.patch, width=facts.width,
                  layers=facts.depth, heads=1),
        input_resolution=facts.patch * int((positions.shape[0] - 1)**0.5))
    with torch.device('meta'):
        model = family.build()
    visual = family.convert(state, model, args.src)
    os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    torch.save(visual, args.dst)
    layers = len({re.match(r'transformer\.resblocks\.(\d+)', k).group(1)
                  for k in visual if k.startswith('transformer.resblocks.')})
    print(f'CLIP visual tower: width {facts.width}, patch {facts.patch}, '
          f'{layers} layers, '
          f'{sum(v.numel() for v in visual.values()) / 1e6:.2f}M parameters '
          f'-> {args.dst}')


if __name__ == '__main__':
    main_with_clear_errors(main)
