"""Step times of several settings of one config, interleaved in one process.

Usage::

    python tools/analysis/compare_steps.py configs/aim_vitb_k400.py \\
        --setting \\
        'plain={"model.backbone.image_model.type": "PlainCLIPViT"}' \\
        --setting 'none={"model.backbone.recompute_frozen": []}' \\
        --setting 'default={}' --mode train --rounds 5

Every setting (a name and config overrides, as JSON) is built once; then, in
each round, one step of every setting runs in turn, so that all of them see
the same load of a shared machine, and the median over rounds is printed with
its ratio to the first setting. A round's order rotates, so no setting always
runs right after the same other one. Timing only: peak memory needs a
process per setting (``benchmark.py``).
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import time
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
from mmaction_aim.analysis.benchmark import build_step  # noqa: E402


def make_step(config: str, options: dict, mode: str, batch_size: int):
    """One training step or inference forward of the configured model."""
    return build_step(config, 'aim', mode, batch_size, 'cpu',
                      cfg_options=options).step


def compare(config: str, settings: Dict[str, dict], mode: str,
            batch_size: int, rounds: int,
            warmup: int = 1) -> Dict[str, List[float]]:
    """Times of every setting's steps, interleaved round by round."""
    steps = {name: make_step(config, options, mode, batch_size)
             for name, options in settings.items()}
    names = list(steps)
    for _ in range(warmup):
        for name in names:
            steps[name]()
    times: Dict[str, List[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            start = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - start)
    return times


def parse_setting(text: str):
    name, _, options = text.partition('=')
    if not name or not options:
        raise argparse.ArgumentTypeError(
            f'--setting takes NAME=JSON, got {text!r}')
    return name, json.loads(options)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--setting', type=parse_setting, action='append',
                        required=True, help='NAME=JSON config overrides; '
                        'the first is the baseline of the ratios')
    parser.add_argument('--mode', choices=['train', 'inference'],
                        default='train')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--out', help='write the times as JSON here')
    args = parser.parse_args(argv)
    settings = dict(args.setting)
    times = compare(args.config, settings, args.mode, args.batch_size,
                    args.rounds, args.warmup)
    base = statistics.median(times[args.setting[0][0]])
    print(f'{args.mode}, {args.batch_size} clips, {args.rounds} interleaved '
          'rounds (median s, ratio to the first setting):')
    for name, ts in times.items():
        median = statistics.median(ts)
        print(f'{name:<16} {median:8.3f} s  x{median / base:5.3f}  '
              f'({", ".join(f"{t:.2f}" for t in ts)})')
    report = dict(config=args.config, mode=args.mode,
                  batch_size=args.batch_size, settings=settings, times=times)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == '__main__':
    main()
