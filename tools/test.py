"""Test (and evaluate) a checkpoint with MMAction2 and mmaction-aim.

Same command line as MMAction2's ``tools/test.py``::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--dump OUT.pkl]
        [--cfg-options k=v ...] [--show-dir DIR] [--show] [--interval N]
        [--wait-time S] [--launcher pytorch] [--protocols 3x1 1x1 1x3 4x3]
    python tools/test.py CONFIG --zero-shot [...]

The checkpoint is read safely (no pickled code runs) and must fit the model
exactly; a checkpoint of another architecture is an error naming the keys;
an adapter-only one is merged onto the image model it was trained on.
``--protocols`` reports several view protocols (clips x crops) from one
decode of their clips, each as its own metrics (``acc/3x1_top1``, ...).
``--zero-shot`` tests, instead of a checkpoint, the model as initialised:
the frozen image-text model with its classifier from the class names
(a config whose head is ``AIMTextHead``; docs/few_shot.md).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mmaction_aim  # noqa: E402,F401  (fixes and registrations)

from mmaction_aim.engine.resolve import RunRequest, resolve  # noqa: E402
from mmaction_aim.engine.runner_setup import (  # noqa: E402
    build_runner, finish_distributed)
from mmaction_aim.evaluation import protocol_arg  # noqa: E402
from mmaction_aim.utils import (add_cfg_options, at_least,  # noqa: E402
                                main_with_clear_errors, read_config)


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments (MMAction2's ``tools/test.py`` set)."""
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a video recognizer')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', nargs='?',
                        help='checkpoint file (none with --zero-shot)')
    parser.add_argument('--zero-shot', action='store_true',
                        help='test the model as initialised, no checkpoint: '
                        'the frozen image-text model, its classifier from '
                        'the class names (a config whose head is '
                        'AIMTextHead)')
    parser.add_argument('--work-dir',
                        help='where the metrics file and logs go')
    parser.add_argument('--dump', type=str,
                        help='dump predictions to a .pkl file for offline '
                        'evaluation')
    add_cfg_options(parser)
    parser.add_argument('--show-dir',
                        help='directory for visualised predictions')
    parser.add_argument('--show', action='store_true',
                        help='display predictions in a window')
    parser.add_argument('--interval', type=at_least(int, 1), default=1,
                        help='visualise every N-th sample')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each window is shown')
    parser.add_argument('--allow-other-image-model', action='store_true',
                        help='merge an adapter-only checkpoint even onto '
                        'another image model than it was trained on')
    parser.add_argument('--shrink', action='store_true',
                        help='a tiny version of the config for a trial on a '
                        'CPU: its image-model family at width 32 and 2 '
                        'blocks, 2 frames, no pre-trained weights, batches '
                        'of 2 without workers, one epoch (applied after '
                        '--cfg-options; give the data with them)')
    parser.add_argument('--protocols', nargs='+', metavar='CLIPSxCROPS',
                        type=protocol_arg,
                        help='report several view protocols from one decode, '
                        'each as its own metrics (e.g. --protocols 3x1 1x1 '
                        '1x3 4x3; the first is the main one); clips are '
                        "placed as the config's test sampler places them")
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if args.zero_shot and args.checkpoint is not None:
        parser.error('--zero-shot tests the model as initialised: give no '
                     'checkpoint')
    if args.zero_shot and args.shrink:
        parser.error('--zero-shot tests the image-text model as released, '
                     'which --shrink replaces by a tiny random one: give one')
    if not args.zero_shot and args.checkpoint is None:
        parser.error('give the checkpoint to test, or --zero-shot to test '
                     'the model as initialised')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def request_of(args: argparse.Namespace) -> RunRequest:
    """What the command line asks of the run."""
    show = None
    if args.show or args.show_dir is not None:
        show = dict(show=args.show, wait_time=args.wait_time,
                    out_dir=args.show_dir, interval=args.interval)
    return RunRequest(
        mode='test', config_path=args.config, cfg_options=args.cfg_options,
        shrink=args.shrink, work_dir=args.work_dir, launcher=args.launcher,
        checkpoint=args.checkpoint, zero_shot=args.zero_shot,
        dump=args.dump,
        test_protocols=tuple(args.protocols or ()), show=show,
        allow_other_image_model=args.allow_other_image_model)


def main(argv=None) -> None:
    """Build the runner from the config and test the checkpoint (or, with
    ``--zero-shot``, the model as initialised)."""
    args = parse_args(argv)
    if args.checkpoint is not None and os.path.isdir(args.checkpoint):
        raise IsADirectoryError(21, 'is a directory, not a checkpoint',
                                args.checkpoint)
    if args.checkpoint is not None and not os.path.exists(args.checkpoint):
        raise FileNotFoundError(2, 'checkpoint does not exist',
                                args.checkpoint)
    cfg, changes = resolve(read_config(args.config), request_of(args))
    runner = build_runner(cfg, changes)
    runner.test()
    finish_distributed(runner)


if __name__ == '__main__':
    main_with_clear_errors(main)
