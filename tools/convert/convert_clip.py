#!/usr/bin/env python
"""Write CLIP's visual tower once as a plain, visual-only state dict.

Reads the OpenAI release (TorchScript ``ViT-B-16.pt``, read without running
its code), a CLIP / open_clip state dict or an open_clip checkpoint, and
writes a float32 state dict in :class:`AIMViT`'s key layout, loadable with
``torch.load(weights_only=True)`` and by ``backbone.pretrained``::

    python tools/convert/convert_clip.py ViT-B-16.pt \
        checkpoints/clip/vit-b16_visual.pth
"""
import argparse
import os

import torch

from mmaction_aim.models.utils import load_clip_visual_state_dict
from mmaction_aim.utils import main_with_clear_errors


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Extract the CLIP visual tower as a plain state dict')
    parser.add_argument('src', help='OpenAI .pt, CLIP/open_clip state dict '
                        'or checkpoint')
    parser.add_argument('dst', help='visual-only state dict to write')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    visual = load_clip_visual_state_dict(args.src)
    os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    torch.save(visual, args.dst)
    width = visual['conv1.weight'].shape[0]
    patch = visual['conv1.weight'].shape[-1]
    layers = len({k.split('.')[2] for k in visual
                  if k.startswith('transformer.resblocks.')})
    print(f'CLIP visual tower: width {width}, patch {patch}, {layers} layers, '
          f'{sum(v.numel() for v in visual.values()) / 1e6:.2f}M parameters '
          f'-> {args.dst}')


if __name__ == '__main__':
    main_with_clear_errors(main)
