"""What fits a GPU's memory, estimated from measured saved-activation bytes.

For a config, measures on this machine's CPU (float32) what autograd keeps
for one clip's training forward in each memory setting of
``tools/train.py --fit-memory`` (as configured; ``with_cp``), adds what a
step holds besides activations (float32 weights, their 16-bit autocast
copies, the trained parameters' gradients and AdamW's two moments), and
prints, for each memory budget and number of GPUs, the per-GPU batch and
setting that ``--fit-memory``'s rule would choose with that estimate as its
probe, the recipe's clips per step kept by accumulation::

    python tools/analysis/memory_plan.py configs/aim_vitb_k400.py \
        [--budgets 16 24 40 80] [--gpus 1 2 4 8] [--json out.json]

These are estimates: a GPU under mixed precision keeps many activations in
16 bits (fewer bytes than measured here), while the allocator's
fragmentation and the kernels' workspaces add to them; 10% of every budget
is held back for the latter. ``--fit-memory`` on the GPU itself measures.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

import mmaction_aim  # noqa: E402,F401
import torch  # noqa: E402

from mmaction_aim.analysis import build_model  # noqa: E402
from mmaction_aim.analysis.fit_memory import (fit_batch,  # noqa: E402
                                              linear_probe)
from mmaction_aim.models.utils import saved_activation_bytes  # noqa: E402
from mmaction_aim.utils import (BadInputError, add_cfg_options,  # noqa: E402
                                at_least, main_with_clear_errors,
                                read_config)

GIB = 2**30
#: Held back from every budget for workspaces and fragmentation.
MARGIN = 0.10


def measure(cfg, with_cp: bool) -> dict:
    """Saved-activation bytes of one clip and the fixed bytes of a step."""
    from mmaction.structures import ActionDataSample
    torch.manual_seed(0)
    model = build_model(cfg, 'cpu', with_cp=with_cp).train()
    backbone = model.backbone
    size = backbone.input_size
    clip = torch.randn(1, 1, 3, backbone.num_frames, size, size)
    sample = [ActionDataSample().set_gt_label(0)]
    saved = saved_activation_bytes(model, lambda: model(clip, sample,
                                                        mode='loss'))
    params = sum(p.numel() for p in model.parameters())
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    fixed = params * (4 + 2) + trained * (4 + 8)
    return dict(saved_per_clip=saved, fixed=fixed, params=params,
                trained=trained)


def plan(cfg, measured: dict, budgets, gpus) -> list:
    """Rows: budget, GPUs, batch per GPU, setting, accumulation, peak."""
    probe = linear_probe(
        fixed_bytes=dict(default=measured['default']['fixed'],
                         recompute=measured['default']['fixed'],
                         with_cp=measured['with_cp']['fixed']),
        bytes_per_clip=dict(default=measured['default']['saved_per_clip'],
                            recompute=measured['default']['saved_per_clip'],
                            with_cp=measured['with_cp']['saved_per_clip']))
    rows = []
    for budget in budgets:
        for world in gpus:
            try:
                fit = fit_batch(cfg, world, budget * GIB * (1 - MARGIN),
                                probe)
                rows.append(dict(budget_gb=budget, gpus=world,
                                 batch=fit.batch_size, setting=fit.setting,
                                 accumulate=fit.accumulate,
                                 estimate_gib=fit.peak_bytes / GIB))
            except BadInputError:
                rows.append(dict(budget_gb=budget, gpus=world, batch=0,
                                 setting='does not fit', accumulate=0,
                                 estimate_gib=None))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    add_cfg_options(parser)
    parser.add_argument('--budgets', nargs='+', type=at_least(float, 0, True),
                        default=[16, 24, 40, 80], metavar='GB')
    parser.add_argument('--gpus', nargs='+', type=at_least(int, 1),
                        default=[1, 2, 4, 8])
    parser.add_argument('--json', help='also write the measurements and '
                        'the plan here')
    args = parser.parse_args(argv)
    cfg = read_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    measured = {'default': measure(cfg, False), 'with_cp': measure(cfg, True)}
    for name, m in measured.items():
        print(f'{name}: {m["saved_per_clip"] / 2**20:,.0f} MiB saved per '
              f'clip (float32, CPU); fixed {m["fixed"] / GIB:.2f} GiB '
              f'({m["params"]:,} parameters, {m["trained"]:,} trained)')
    rows = plan(cfg, measured, args.budgets, args.gpus)
    print('| GPU memory | GPUs | videos per GPU | setting | accumulated | '
          'estimated peak |\n| ---: | ---: | ---: | --- | ---: | ---: |')
    for r in rows:
        peak = '-' if r['estimate_gib'] is None else \
            f'{r["estimate_gib"]:.1f} GiB'
        print(f'| {r["budget_gb"]:g} GB | {r["gpus"]} | {r["batch"]} | '
              f'{r["setting"].split(" (")[0]} | {r["accumulate"]} | {peak} |')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(config=args.config, measured=measured,
                           plan=rows, margin=MARGIN), f, indent=1)


if __name__ == '__main__':
    main_with_clear_errors(main)
