"""Same-model A/B of the ways AIM can run a CLIP ViT, on the same weights.

Why CLIP is a family of its own (``CLIPViT``) and keeps its frozen-MLP
autograd function: this compares, on one model with one set of weights,

* ``ours``: the ``CLIPViT`` family (fused QuickGELU, the frozen MLP keeping
  only its input through a custom autograd function);
* ``timm``: timm's own CLIP (``vit_base_patch16_clip_quickgelu_224``)
  through the ``TimmViT`` family, the weights converted by timm's filter;
* ``plain_mlp``: ``ours`` with the MLP recomputed by plain
  ``torch.utils.checkpoint`` instead of the custom function,

and prints the largest difference of their features (exactness), what each
keeps for the backward pass, and inference and training-step times from
alternated (ABBA) repetitions in this one process, with the minimum and the
median of each and their ratios to ``ours``::

    python tools/analysis/compare_clip_paths.py [--repeats 7] [--frames 8]
        [--batch-size 2] [--out ab.json]
"""
import argparse
import copy
import json
import statistics
import sys
import time
from os import path as osp
from typing import Optional, Sequence

import torch
import torch.utils.checkpoint as cp

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

from mmaction_aim.models import AIMBackbone  # noqa: E402
from mmaction_aim.models.layers.frozen_ops import quick_gelu  # noqa: E402
from mmaction_aim.models.utils import saved_activation_bytes  # noqa: E402


class CheckpointedMLP(torch.nn.Module):
    """CLIP's MLP recomputed by plain ``torch.utils.checkpoint``."""

    def __init__(self, mlp: torch.nn.Module) -> None:
        super().__init__()
        self.m = mlp

    def plain(self, h: torch.Tensor) -> torch.Tensor:
        return self.m.c_proj(quick_gelu(self.m.c_fc(h)))

    def forward(self, h: torch.Tensor, recompute: bool = True):
        if torch.is_grad_enabled() and h.requires_grad:
            return cp.checkpoint(self.plain, h, use_reentrant=False,
                                 preserve_rng_state=False)
        return self.plain(h)


def build(frames: int) -> dict:
    """The three models, with the same image model and adapters."""
    torch.manual_seed(0)
    ours = AIMBackbone(dict(type='CLIPViT', arch='ViT-B/16'),
                       num_frames=frames)
    ours.init_weights()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, param in ours.named_parameters():
            if 'adapter' in name or name == 'temporal_embedding':
                param.copy_(0.02 * torch.randn(param.shape,
                                               generator=generator))
    timm = AIMBackbone(dict(type='TimmViT',
                            model_name='vit_base_patch16_clip_quickgelu_224'),
                       num_frames=frames)
    clip_file = {f'visual.{k[len("image_model."):]}': v
                 for k, v in ours.state_dict().items()
                 if k.startswith('image_model.') and 'adapter' not in k}
    clip_file['visual.proj'] = torch.zeros(768, 512)
    timm.load_image_state_dict(timm.family.convert(
        clip_file, timm.image_model, 'ours'))
    with torch.no_grad():
        timm.temporal_embedding.copy_(ours.temporal_embedding)
        for a, b in zip(ours.adapted_blocks(), timm.adapted_blocks(),
                        strict=True):
            b.load_state_dict({k: v for k, v in a.state_dict().items()
                               if 'adapter' in k}, strict=False)
    plain = copy.deepcopy(ours)
    for block in plain.adapted_blocks():
        block.mlp = CheckpointedMLP(block.mlp)
    return dict(ours=ours, timm=timm, plain_mlp=plain)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--out', help='write the figures as JSON here')
    args = parser.parse_args(argv)
    models = build(args.frames)
    x = torch.randn(args.batch_size, 3, args.frames, 224, 224)
    for model in models.values():
        model.eval()
    with torch.no_grad():
        outs = {name: model(x) for name, model in models.items()}
    exact = {name: (out - outs['ours']).abs().max().item()
             for name, out in outs.items() if name != 'ours'}
    print(f'largest feature difference to ours: {exact} (features up to '
          f'{outs["ours"].abs().max().item():.2f})')
    for model in models.values():
        model.train()
    saved = {name: saved_activation_bytes(model, lambda m=model: m(x).sum())
             for name, model in models.items()}
    print('kept for the backward pass (MB):',
          {k: round(v / 2**20, 1) for k, v in saved.items()})

    def inference(model):
        model.eval()
        with torch.no_grad():
            model(x)

    def train(model):
        model.train()
        model(x).square().mean().backward()
        for param in model.parameters():
            param.grad = None

    steps = (inference, train)
    for step in steps:  # warm-up
        for model in models.values():
            step(model)
    times = {(name, step.__name__): [] for name in models for step in steps}
    order = list(models)
    for r in range(args.repeats):
        for step in steps:
            for name in (order if r % 2 == 0 else order[::-1]):  # ABBA
                start = time.perf_counter()
                step(models[name])
                times[name, step.__name__].append(time.perf_counter() -
                                                  start)
    report = dict(exactness=exact, saved_bytes=saved, repeats=args.repeats,
                  threads=torch.get_num_threads(), ratios={},
                  times={f'{n}/{s}': t for (n, s), t in times.items()})
    for step in steps:
        base = times['ours', step.__name__]
        for name in order:
            t = times[name, step.__name__]
            line = (f'{step.__name__:<9} {name:<9} min {min(t):.3f} s  '
                    f'median {statistics.median(t):.3f} s')
            if name != 'ours':
                ratio = (min(t) / min(base),
                         statistics.median(t) / statistics.median(base))
                report['ratios'][f'{name}/{step.__name__}'] = ratio
                line += (f'  /ours: min {ratio[0]:.3f}, median '
                         f'{ratio[1]:.3f}')
            print(line)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1)
    return report


if __name__ == '__main__':
    main()
