"""Train a video recognizer with MMAction2 and mmaction-aim.

Same command line as MMAction2's ``tools/train.py``::

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--no-validate] [--auto-scale-lr] [--seed N] [--diff-rank-seed]
        [--deterministic] [--cfg-options k=v ...] [--launcher pytorch]
        [--test-last [--dump OUT.pkl]]

``--test-last`` (MMAction2 0.x's option) tests the final model on the test
split right after training, in the same process: the numbers
``tools/test.py`` gives for the last checkpoint, without starting again.

The run is built by the config's ``runner_type`` (``AIMRunner`` by
default): checkpoints are read safely and loaded strictly, the data are
checked against the model before the first iteration, and on a machine
without a GPU ``--amp`` (or an ``AmpOptimWrapper`` config) falls back to
float32 with a warning and distributed runs use gloo.
"""
import argparse
import os
import sys

# Runnable from a source checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mmaction_aim  # noqa: E402,F401  (fixes and registrations)
from mmengine.config import Config, DictAction  # noqa: E402

from mmaction_aim.analysis import shrink_config  # noqa: E402
from mmaction_aim.evaluation import with_protocols  # noqa: E402
from mmaction_aim.engine.runner_setup import (  # noqa: E402
    add_dump_evaluator, apply_randomness_flags, build_runner,
    default_work_dir, finish_distributed, merge_cfg_options,
    note_config_change)
from mmaction_aim.utils import main_with_clear_errors  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments (MMAction2's ``tools/train.py`` set)."""
    parser = argparse.ArgumentParser(description='Train a video recognizer')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a value from the '
        'latest checkpoint in the work directory')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (GPU only; float32 '
                        'with a warning on a CPU)')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate during training')
    parser.add_argument('--val-protocols', nargs='+', metavar='CLIPSxCROPS',
                        help='validate on several view protocols from one '
                        'decode, each as its own metrics (e.g. 1x1 3x1; the '
                        'first is the main one, the one save_best follows)')
    parser.add_argument('--test-protocols', nargs='+', metavar='CLIPSxCROPS',
                        help='the same for --test-last')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate linearly with the '
                        'actual total batch size')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--diff-rank-seed', action='store_true',
                        help='a different seed on every rank')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic algorithms (cuDNN ...)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (lists: key="[a,b]")')
    parser.add_argument('--test-last', action='store_true',
                        help='after training, test the final model on the '
                        'test split (as tools/test.py with the last '
                        'checkpoint)')
    parser.add_argument('--dump', type=str,
                        help='with --test-last: dump its predictions to a '
                        '.pkl file')
    parser.add_argument('--allow-other-image-model', action='store_true',
                        help='merge an adapter-only load_from even onto '
                        'another image model than it was trained on')
    parser.add_argument('--shrink', action='store_true',
                        help='a tiny version of the config for a trial on a '
                        'CPU: its image-model family at width 32 and 2 '
                        'blocks, 2 frames, no pre-trained weights, batches '
                        'of 2 without workers, one epoch (applied after '
                        '--cfg-options; give the data with them)')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config."""
    if args.cfg_options is not None:
        merge_cfg_options(cfg, args.cfg_options)
    if args.shrink:
        note_config_change('--shrink: ' + ', '.join(shrink_config(cfg)))
    if args.no_validate:
        if args.val_protocols:
            raise ValueError('--val-protocols with --no-validate: give one')
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    for split, protocols in (('val', args.val_protocols),
                             ('test', args.test_protocols)):
        if protocols:
            for field, change in with_protocols(cfg, protocols,
                                                split).items():
                note_config_change(f'{field}: {change} (--{split}-protocols)')
    if args.dump is not None and not args.test_last:
        raise ValueError('--dump dumps the predictions of --test-last: give '
                         'both, or dump with tools/test.py')
    cfg.launcher = args.launcher
    default_work_dir(cfg, args.config, args.work_dir)
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(f'--amp cannot be used with the custom optimizer '
                             f'wrapper {wrapper!r}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.allow_other_image_model:
        cfg.allow_other_image_model = True
    if args.test_last:
        missing = [key for key in ('test_dataloader', 'test_cfg',
                                   'test_evaluator') if not cfg.get(key)]
        if missing:
            raise ValueError(f'--test-last needs {", ".join(missing)} in '
                             f'the config')
        if args.dump is not None:
            add_dump_evaluator(cfg, args.dump)
    # The flags win over the config's `randomness` (each change is logged).
    apply_randomness_flags(cfg, args.seed, args.diff_rank_seed,
                           args.deterministic)
    return cfg


def main(argv=None) -> None:
    """Build the runner from the config and train."""
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = build_runner(cfg)
    runner.train()
    if args.test_last:
        runner.test()
    finish_distributed(runner)


if __name__ == '__main__':
    main_with_clear_errors(main)
