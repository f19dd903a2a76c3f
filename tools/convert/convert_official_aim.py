#!/usr/bin/env python
"""Convert a checkpoint released by the original AIM repository.

The original files (``{'state_dict': ..., 'meta': ...}``, keys as listed in
``aim_reference/official_keys_*.txt``) become MMEngine checkpoints that our
configs load with strict key matching. The layout is detected: a CLIP ViT
(``ViT_CLIP``, for ``CLIPViT`` configs such as ``aim_vitb_k400.py``), an
ImageNet ViT (``ViT_ImageNet``, for ``TimmViT`` configs such as
``aim_vitb-in21k_k400.py``) or a Swin (``SwinTransformer2D_Adapter``, for
``TimmSwin`` configs)::

    python tools/convert/convert_official_aim.py \
        aim_vitb16_k400_8f.pth checkpoints/aim_vitb16_k400_8f_converted.pth
    python tools/test.py configs/aim_vitb_k400.py \
        checkpoints/aim_vitb16_k400_8f_converted.pth

The key mapping itself is the pure function
:func:`mmaction_aim.models.utils.convert_official_aim`.
"""
import argparse
import os

import torch

from mmaction_aim.checkpoint import meta_of, read_checkpoint, unwrap
from mmaction_aim.models.utils import (convert_official_aim,
                                       official_aim_layout)
from mmaction_aim.utils import main_with_clear_errors


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an original AIM checkpoint to mmaction-aim')
    parser.add_argument('src', help='released original checkpoint')
    parser.add_argument('dst', help='converted checkpoint to write')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # Released files hold tensors and plain metadata only.
    checkpoint = read_checkpoint(args.src)
    state_dict = unwrap(checkpoint, keys=('state_dict', ), name=args.src)
    layout = official_aim_layout(state_dict)
    converted = convert_official_aim(state_dict)
    renamed = len(set(state_dict) - set(converted))
    os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    meta = meta_of(checkpoint)
    meta['converted_from'] = os.path.basename(args.src)
    meta['official_layout'] = layout
    torch.save(dict(state_dict=converted, meta=meta), args.dst)
    print(f'{layout} layout: {len(converted)} tensors ({renamed} keys '
          f'renamed or dropped) written to {args.dst}')


if __name__ == '__main__':
    main_with_clear_errors(main)
