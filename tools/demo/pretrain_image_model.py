"""Pre-train the demo's tiny CLIP-architecture image model on still images.

Regenerates ``checkpoints/demo/clip_vit_tiny_shapes.pth`` (shipped in the
repo): a ViT with patch 8, width 64, 4 blocks and 4 heads on 32x32 images,
trained to name the shape and colour of an object in a single image, saved in
OpenAI CLIP's key layout (``visual.*``) so that AIMViT's ``pretrained=``
loads it exactly like real CLIP weights. Seeded, single-threaded and with
deterministic algorithms; about a minute on one CPU core.

    python tools/demo/pretrain_image_model.py
"""
import argparse
import json
import os
import os.path as osp

import torch

from mmaction_aim.demo.image_model import (DEMO_ARCH, DEMO_EMBED_DIM,
                                           DEMO_INPUT_RESOLUTION,
                                           pretrain_image_model)

DEFAULT_OUT = osp.join(osp.dirname(__file__), '..', '..', 'checkpoints',
                       'demo', 'clip_vit_tiny_shapes.pth')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=osp.normpath(DEFAULT_OUT))
    parser.add_argument('--steps', type=int, default=1500)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()

    result = pretrain_image_model(steps=args.steps,
                                  batch_size=args.batch_size, lr=args.lr,
                                  seed=args.seed)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save(result['state_dict'], args.out)
    meta = dict(arch=DEMO_ARCH, input_resolution=DEMO_INPUT_RESOLUTION,
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
