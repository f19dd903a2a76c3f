#!/usr/bin/env python
"""Write CLIP's visual tower once as a plain, visual-only state dict.

Reads any CLIP file the ``CLIPViT`` family reads (the OpenAI TorchScript
release, read without running its code; a CLIP or open_clip state dict or
checkpoint, ``.pt``, ``.bin`` or ``.safetensors``) and writes a float32
state dict under CLIP's visual names, loadable with
``torch.load(weights_only=True)`` and by ``backbone.pretrained``::

    python tools/convert/convert_clip.py ViT-B-16.pt \
        checkpoints/clip/vit-b16_visual.pth

The converted tensors are checked against the CLIP vision tower the file
describes (its width, patch, depth and resolution; the model built on the
meta device): a file lacking some of its keys (or with other shapes, or
keys no such tower has) is refused naming them, and nothing is written.
``dst`` may not be ``src``; it is written under a temporary name and
renamed when complete.
"""
import argparse
import os
import os.path as osp
import re
import tempfile

import torch

from mmaction_aim.checkpoint import (ImageModelMismatchError, read_checkpoint,
                                     strip_prefix, unwrap)
from mmaction_aim.models.families import CLIPViT
from mmaction_aim.models.families.weight_files import (describe_state_dict,
                                                    vit_facts)
from mmaction_aim.utils import (BadInputError, main_with_clear_errors,
                                writable_file)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Extract the CLIP visual tower as a plain state dict')
    parser.add_argument('src', help='OpenAI .pt, CLIP / open_clip state dict '
                        'or checkpoint (.pt, .bin, .safetensors)')
    parser.add_argument('dst', help='visual-only state dict to write')
    return parser.parse_args(argv)


def check_complete(visual: dict, model: torch.nn.Module, src: str,
                   what: str) -> None:
    """Refuse converted weights that the CLIP vision tower they describe
    could not load strictly, naming a few of the keys, with counts.

    Raises:
        ImageModelMismatchError: Keys missing or unexpected, or shapes that
            differ.
    """
    ours = model.state_dict(keep_vars=True)
    missing = [k for k in ours if k not in visual]
    unexpected = [k for k in visual if k not in ours]
    shapes = [f'{k}: file {list(v.shape)} vs {list(ours[k].shape)}'
              for k, v in visual.items()
              if k in ours and v.shape != ours[k].shape]
    parts = [f'{len(keys)} {kind} ({", ".join(keys[:3])}'
             + (f', ... {len(keys) - 3} more)' if len(keys) > 3 else ')')
             for kind, keys in (('key(s) missing', missing),
                                ('key(s) unexpected', unexpected),
                                ('tensor(s) of other shapes', shapes))
             if keys]
    if parts:
        raise ImageModelMismatchError(
            f'{src} is not a complete {what}: its visual tower has '
            f'{"; ".join(parts)}; nothing written')


def main(argv=None):
    args = parse_args(argv)
    writable_file(args.dst, 'the visual-only .pth')
    if osp.exists(args.src) and osp.exists(args.dst) and \
            osp.samefile(args.src, args.dst):
        raise BadInputError(f'{args.dst} is the source file; give another '
                            'file to write')
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
    check_complete(visual, model, args.src,
                   f'CLIP vision tower ({facts.depth} blocks of width '
                   f'{facts.width}, patch {facts.patch})')
    handle, part = tempfile.mkstemp(
        prefix=f'.{osp.basename(args.dst)}.', suffix='.part',
        dir=osp.dirname(osp.abspath(args.dst)))
    try:
        with os.fdopen(handle, 'wb') as f:
            torch.save(visual, f)
        umask = os.umask(0)  # mkstemp's file is private; as torch.save's
        os.umask(umask)
        os.chmod(part, 0o666 & ~umask)
        os.replace(part, args.dst)
    finally:
        if osp.exists(part):
            os.remove(part)
    layers = len({re.match(r'transformer\.resblocks\.(\d+)', k).group(1)
                  for k in visual if k.startswith('transformer.resblocks.')})
    print(f'CLIP visual tower: width {facts.width}, patch {facts.patch}, '
          f'{layers} layers, '
          f'{sum(v.numel() for v in visual.values()) / 1e6:.2f}M parameters '
          f'-> {args.dst}')


if __name__ == '__main__':
    main_with_clear_errors(main)
