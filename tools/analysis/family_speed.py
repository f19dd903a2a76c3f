"""Training-step time and saved activations of AIM on every image-model
family, against the plain yardstick, in one process.

Usage::

    python tools/analysis/family_speed.py [--repeats 7] [--frames 8]
        [--families clip timm_vit eva beit swin hiera] [--out result.json]

Each family's backbone is built at its base width with two blocks (two
stages of one block for the hierarchical ones), frozen as AIM trains it,
fresh adapters made non-zero; one training step (forward, a loss, backward)
on a clip of ``--frames`` frames at 224 px is timed for each family and
for the plain yardstick (:mod:`mmaction_aim.analysis.plain_aim`, CLIP's
block written the straightforward way) in alternated order (ABBA rounds
over all of them), after one warm-up step each. Printed per family: the
minimum and median seconds per step, the ratio of the minima to the
yardstick's, and the bytes autograd keeps for the backward pass (exact,
:func:`~mmaction_aim.models.utils.saved_activation_bytes`). Ratios, not
times, are what compare across runs and machines; run the script on two
versions of the code to compare them.
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

import torch  # noqa: E402

import mmaction_aim.analysis  # noqa: E402,F401  (PlainCLIPViT)
from mmaction_aim.models import AIMBackbone  # noqa: E402
from mmaction_aim.models.layers import Adapter  # noqa: E402
from mmaction_aim.models.utils import saved_activation_bytes  # noqa: E402

CLIP_B = dict(patch_size=16, width=768, layers=2, heads=12)
#: Family name -> the backbone's ``image_model`` (base width, two blocks).
FAMILIES = {
    'plain': dict(type='PlainCLIPViT', arch=CLIP_B),
    'clip': dict(type='CLIPViT', arch=CLIP_B),
    'timm_vit': dict(type='TimmViT', model_name='vit_base_patch16_224',
                     timm_kwargs=dict(depth=2)),
    'eva': dict(type='TimmEva', model_name='eva02_base_patch16_clip_224',
                timm_kwargs=dict(depth=2)),
    'beit': dict(type='TimmBeit', model_name='beit_base_patch16_224',
                 timm_kwargs=dict(depth=2)),
    'swin': dict(type='TimmSwin', model_name='swin_base_patch4_window7_224',
                 timm_kwargs=dict(depths=(1, 1), num_heads=(4, 8))),
    'hiera': dict(type='TimmHiera', model_name='hiera_base_224',
                  timm_kwargs=dict(stages=(1, 1, 1, 1))),
}


def build(image_model: dict, frames: int) -> AIMBackbone:
    """A frozen backbone with non-zero adapters, in training mode."""
    torch.manual_seed(0)
    backbone = AIMBackbone(dict(image_model), num_frames=frames)
    backbone.init_weights()
    with torch.no_grad():
        for module in backbone.modules():
            if isinstance(module, Adapter):
                module.fc2.weight.normal_(std=0.02)
    return backbone.train()


def step(backbone: AIMBackbone, clip: torch.Tensor) -> None:
    """One training step's forward and backward."""
    backbone(clip).float().square().mean().backward()


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=7,
                        help='timed steps of each (ABBA); at least 7')
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--families', nargs='+', default=None,
                        help=f'of {sorted(set(FAMILIES) - {"plain"})}; '
                        'default: all this version has')
    parser.add_argument('--out', help='write the results as JSON here')
    args = parser.parse_args(argv)
    if args.repeats < 7:
        parser.error('--repeats must be >= 7 (minimum and median of '
                     'alternated repetitions)')
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    from mmaction_aim.models.families import FAMILIES as REGISTERED
    names = args.families or [n for n, m in FAMILIES.items()
                              if m['type'] in REGISTERED.module_dict]
    names = ['plain'] + [n for n in names if n != 'plain']
    models = {n: build(FAMILIES[n], args.frames) for n in names}
    torch.manual_seed(1)
    clip = torch.randn(1, 3, args.frames, 224, 224)
    saved = {n: saved_activation_bytes(m, lambda m=m: m(clip))
             for n, m in models.items()}
    times = {n: [] for n in names}
    for model in models.values():  # warm-up
        step(model, clip)
    for r in range(args.repeats):
        order = names if r % 2 == 0 else names[::-1]  # ABBA
        for name in order:
            model = models[name]
            model.zero_grad(set_to_none=True)
            start = time.perf_counter()
            step(model, clip)
            times[name].append(time.perf_counter() - start)
    result = {}
    plain = min(times['plain'])
    print(f'{"family":10s} {"min s":>8s} {"median s":>9s} {"/ plain":>8s} '
          f'{"saved MiB":>10s}')
    for name in names:
        row = dict(min_s=min(times[name]),
                   median_s=statistics.median(times[name]),
                   ratio_to_plain=min(times[name]) / plain,
                   saved_activation_bytes=saved[name])
        result[name] = row
        print(f'{name:10s} {row["min_s"]:8.3f} {row["median_s"]:9.3f} '
              f'{row["ratio_to_plain"]:8.3f} '
              f'{row["saved_activation_bytes"] / 2**20:10.2f}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(frames=args.frames, repeats=args.repeats,
                           threads=torch.get_num_threads(),
                           families=result), f, indent=2)
    return result


if __name__ == '__main__':
    main()
