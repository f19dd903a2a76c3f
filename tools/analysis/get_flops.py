"""FLOPs and parameters of a recognizer config, MMAction2 model-zoo style.

Usage::

    python tools/analysis/get_flops.py configs/aim_vitb_k400.py
    python tools/analysis/get_flops.py CONFIG --shape 16 224 224  # T H W
    python tools/analysis/get_flops.py CONFIG --json          # one JSON line

"FLOPs" are multiply-accumulates (MACs) for one view (one clip, one crop),
the convention of MMAction2's and fvcore's tables and of the AIM paper (202
GFLOPs for ViT-B/16 at 8 frames), counted on the meta device (no memory, no
time); what is counted: :mod:`mmaction_aim.analysis.flops`.
"""
import argparse
import json
import os
import sys
from typing import Optional, Sequence

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

from mmaction_aim.analysis import config_complexity  # noqa: E402
from mmaction_aim.utils import (add_cfg_options, at_least,  # noqa: E402
                                main_with_clear_errors)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='FLOPs (MACs per view) and parameters of a config')
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=at_least(int, 1), nargs=3,
                        metavar=('T', 'H', 'W'),
                        help='input of one view (default: the backbone\'s '
                        'num_frames and input_resolution)')
    parser.add_argument('--json', action='store_true',
                        help='print one JSON line instead of the table')
    parser.add_argument('--by-operator', action='store_true',
                        help='also list the MACs of every ATen operator')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    r = config_complexity(args.config, args.shape, args.cfg_options)
    if args.json:
        print(json.dumps(r))
        return
    line = '=' * 30
    print(f'{line}\nConfig: {r["config"]}\n'
          f'Input shape: {tuple(r["input_shape"])}\n'
          f'Flops: {r["flops"] / 1e9:.2f} G (multiply-accumulates, one view)\n'
          f'Params: {r["params"] / 1e6:.2f} M\n'
          f'Trainable params: {r["trainable_params"] / 1e6:.2f} M\n{line}')
    if args.by_operator:
        for op, macs in sorted(r['by_operator'].items(), key=lambda x: -x[1]):
            print(f'  {op:<45s} {macs / 1e9:10.3f} G')
    print('!!!Please be cautious if you use the results in papers. '
          'Only matrix products, convolutions, attention and LayerNorm are '
          'counted.')


if __name__ == '__main__':
    main_with_clear_errors(main)
