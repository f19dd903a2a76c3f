"""Pre-train one of the demo's tiny image models on still images.

Regenerates the files shipped in ``checkpoints/demo/``: a ViT with patch 8,
width 64, 4 blocks and 4 heads on 32x32 images, trained to name the shape
and colour of an object in a single image.

* ``--family clip`` (default): CLIP's architecture, saved in OpenAI CLIP's
  key layout (``visual.*``) as ``clip_vit_tiny_shapes.pth``, which the
  ``CLIPViT`` family's ``pretrained=`` loads exactly like real CLIP weights;
* ``--family timm``: timm's ViT (``vit_tiny_patch16_224`` resized), saved as
  timm's own ``timm_vit_tiny_shapes.safetensors``, which the ``TimmViT``
  family loads through timm's checkpoint filter like a real timm file.

Seeded, single-threaded and with deterministic algorithms; about a minute on
one CPU core each.

    python tools/demo/pretrain_image_model.py
    python tools/demo/pretrain_image_model.py --family timm
"""
import argparse
import json
import os
import os.path as osp
import sys

import torch

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(
    __file__)), '..', '..'))
sys.path.insert(0, REPO)  # the repository root: projects/ is importable

from projects.synthetic_demo.image_model import (  # noqa: E402
    DEMO_ARCH, DEMO_EMBED_DIM, DEMO_INPUT_RESOLUTION, DEMO_TIMM_KWARGS,
    DEMO_TIMM_NAME, pretrain_image_model)

CHECKPOINTS = osp.join(osp.dirname(__file__), '..', '..', 'checkpoints',
                       'demo')
DEFAULT_OUT = dict(clip='clip_vit_tiny_shapes.pth',
                   timm='timm_vit_tiny_shapes.safetensors')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--family', choices=sorted(DEFAULT_OUT),
                        default='clip')
    parser.add_argument('--out', default=None,
                        help='defaults to checkpoints/demo/ and the '
                        "family's file name")
    parser.add_argument('--steps', type=int, default=1500)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()

    args.out = args.out or osp.normpath(
        osp.join(CHECKPOINTS, DEFAULT_OUT[args.family]))
    result = pretrain_image_model(steps=args.steps,
                                  batch_size=args.batch_size, lr=args.lr,
                                  seed=args.seed, family=args.family)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    if args.out.endswith('.safetensors'):
        from safetensors.torch import save_file
        save_file(result['state_dict'], args.out)
    else:
        torch.save(result['state_dict'], args.out)
    arch = DEMO_ARCH if args.family == 'clip' else dict(
        model_name=DEMO_TIMM_NAME, **DEMO_TIMM_KWARGS)
    meta = dict(family=args.family, arch=arch,
                input_resolution=DEMO_INPUT_RESOLUTION,
                embed_dim=DEMO_EMBED_DIM, classes=result['classes'],
                held_out_accuracy=round(result['accuracy'], 4),
                steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                seed=args.seed, torch=torch.__version__)
    with open(osp.splitext(args.out)[0] + '.json', 'w') as f:
        json.dump(meta, f, indent=1)
    print(f'saved {args.out} ({osp.getsize(args.out) / 1024:.0f} KiB), '
          f'held-out accuracy {result["accuracy"]:.4f}')


if __name__ == '__main__':
    main()
