"""Print the config a run would use: the file resolved as the tools resolve
it (MMAction2's ``tools/misc/print_config.py``, plus what changed and why).

Usage::

    python tools/print_config.py CONFIG [--cfg-options k=v ...] \
        [--mode train|test] [--world-size N] [--shrink] [--amp] \
        [--protocols 3x1 1x1 ...] [--machine cpu|gpu] [--recipe]

The resolution is :func:`mmaction_aim.engine.resolve.resolve`, the one
``tools/train.py`` and ``tools/test.py`` apply: the printed config is the one
that runs, each change listed once with its reason. ``--world-size`` (default:
``$WORLD_SIZE`` as a launcher sets it, else 1) gives the clips per optimiser
step; ``--machine`` resolves for a machine with or without a GPU (default:
this one). ``--recipe`` prints the training recipe instead, row by row as
``docs/reproduction.md`` gives the paper's (clips per step, every parameter
group's learning rate, schedule, sampling, views, drop-path, what trains).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mmaction_aim  # noqa: E402,F401  (fixes and registrations)

from mmaction_aim.engine.resolve import (RunRequest,  # noqa: E402
                                         clips_per_iteration,
                                         launcher_world_size, resolve)
from mmaction_aim.evaluation import protocol_arg  # noqa: E402
from mmaction_aim.engine.recipe import recipe_rows  # noqa: E402
from mmaction_aim.utils import (BadInputError, add_cfg_options,  # noqa: E402
                                at_least, main_with_clear_errors,
                                read_config)


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Print the config a run resolves to')
    parser.add_argument('config', help='config file path')
    add_cfg_options(parser)
    parser.add_argument('--mode', choices=['train', 'test'], default='train',
                        help='resolve as tools/train.py (default) or '
                        'tools/test.py does')
    parser.add_argument('--world-size', type=at_least(int, 1),
                        help='processes of the run (default: $WORLD_SIZE, '
                        'else 1)')
    parser.add_argument('--machine', choices=['cpu', 'gpu'],
                        help='resolve for a machine without or with a GPU '
                        '(default: this one)')
    parser.add_argument('--shrink', action='store_true',
                        help='as tools/train.py --shrink')
    parser.add_argument('--amp', action='store_true',
                        help='as tools/train.py --amp')
    parser.add_argument('--recipe', action='store_true',
                        help='print the training recipe as rows (clips per '
                        'step, lr of every parameter group, schedule, '
                        'sampling, views, drop-path, what trains), as '
                        'docs/reproduction.md gives the paper\'s, instead '
                        'of the whole config')
    parser.add_argument('--protocols', nargs='+', type=protocol_arg,
                        metavar='CLIPSxCROPS',
                        help='view protocols of the test (--mode test) or '
                        'validation (--mode train) split')
    return parser.parse_args(argv)


def batch_line(cfg, processes: int) -> str:
    """Clips per optimiser step of the resolved ``cfg``."""
    if not isinstance(cfg.get('train_dataloader'), dict):
        return 'no training dataloader'
    per_iteration = clips_per_iteration(cfg, processes)
    accumulate = (cfg.get('optim_wrapper') or {}).get('accumulative_counts',
                                                      1)
    return (f'{per_iteration // processes} clips per process x {processes} '
            f'processes x {accumulate} accumulated = '
            f'{per_iteration * accumulate} clips per optimiser step')


def main(argv=None) -> None:
    """Resolve the config and print it with its changes."""
    args = parse_args(argv)
    mode = args.mode
    processes = args.world_size or launcher_world_size()
    request = RunRequest(
        mode=mode, config_path=args.config, cfg_options=args.cfg_options,
        shrink=args.shrink, amp=args.amp and mode == 'train',
        world_size=processes,
        val_protocols=tuple(args.protocols or ()) if mode == 'train' else (),
        test_protocols=tuple(args.protocols or ()) if mode == 'test' else ())
    accelerator = None if args.machine is None else args.machine == 'gpu'
    cfg, changes = resolve(read_config(args.config), request, accelerator)
    if args.recipe:
        if mode != 'train':
            raise BadInputError('--recipe describes training: drop --mode '
                                'test')
        print('| field | value |\n| --- | --- |')
        for field, value in recipe_rows(cfg, processes):
            print(f'| {field} | {value} |')
        return
    print(cfg.pretty_text)
    print(f'# Resolved for {mode} on {processes} process(es): '
          f'{len(changes)} change(s)')
    for change in changes:
        print(f'# {change}')
    if mode == 'train':
        print(f'# {batch_line(cfg, processes)}')


if __name__ == '__main__':
    main_with_clear_errors(main)
