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

from mmaction_aim.engine.resolve import RunRequest, resolve  # noqa: E402
from mmaction_aim.engine.runner_setup import (  # noqa: E402
    build_runner, finish_distributed)
from mmaction_aim.evaluation import protocol_arg  # noqa: E402
from mmaction_aim.utils import (BadInputError, add_cfg_options,  # noqa: E402
                                at_least, main_with_clear_errors,
                                read_config)


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
                        type=protocol_arg,
                        help='validate on several view protocols from one '
                        'decode, each as its own metrics (e.g. 1x1 3x1; the '
                        'first is the main one, the one save_best follows)')
    parser.add_argument('--test-protocols', nargs='+', metavar='CLIPSxCROPS',
                        type=protocol_arg,
                        help='the same for --test-last')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate linearly with the '
                        'actual total batch size')
    parser.add_argument('--seed', type=at_least(int, 0), default=None,
                        help='random seed')
    parser.add_argument('--diff-rank-seed', action='store_true',
                        help='a different seed on every rank')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic algorithms (cuDNN ...)')
    add_cfg_options(parser)
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
    parser.add_argument('--fit-memory', type=at_least(float, 0, above=True),
                        metavar='GB',
                        help='measure training steps on this GPU and pick '
                        'the per-GPU batch (and, if needed, recompute_frozen '
                        'or with_cp) that fits GB of memory, keeping the '
                        "recipe's clips per optimiser step by accumulation")
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def request_of(args: argparse.Namespace) -> RunRequest:
    """What the command line asks of the run."""
    return RunRequest(
        mode='train', config_path=args.config, cfg_options=args.cfg_options,
        shrink=args.shrink, work_dir=args.work_dir, launcher=args.launcher,
        resume=args.resume, amp=args.amp, no_validate=args.no_validate,
        auto_scale_lr=args.auto_scale_lr, test_last=args.test_last,
        dump=args.dump, val_protocols=tuple(args.val_protocols or ()),
        test_protocols=tuple(args.test_protocols or ()), seed=args.seed,
        diff_rank_seed=args.diff_rank_seed, deterministic=args.deterministic,
        allow_other_image_model=args.allow_other_image_model,
        fitted=fit_memory(args) if args.fit_memory else None)


def fit_memory(args: argparse.Namespace, probe=None) -> tuple:
    """``--fit-memory``: the options that fit this GPU, and why (each
    process measures its own GPU; identical GPUs give the same choice)."""
    import torch

    from mmaction_aim.analysis.fit_memory import cuda_probe, fit_batch
    from mmaction_aim.engine.resolve import launcher_world_size
    if probe is None:
        if not torch.cuda.is_available():
            raise BadInputError('--fit-memory measures training steps on a '
                                'GPU, and none is here')
        device = f'cuda:{os.environ.get("LOCAL_RANK", "0")}'
        probe = cuda_probe(args.config, args.cfg_options, device)
    cfg = read_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    world = launcher_world_size(args.launcher)
    fit = fit_batch(cfg, world, args.fit_memory * 2**30, probe)
    return fit.options, (
        f'--fit-memory {args.fit_memory:g}: {fit.batch_size} videos per GPU '
        f'with {fit.setting} peak at {fit.peak_bytes / 2**30:.1f} GiB; '
        f'{fit.accumulate} accumulated per step')


def main(argv=None) -> None:
    """Build the runner from the config and train."""
    args = parse_args(argv)
    cfg, changes = resolve(read_config(args.config), request_of(args))
    runner = build_runner(cfg, changes)
    runner.train()
    if args.test_last:
        runner.test()
    finish_distributed(runner)


if __name__ == '__main__':
    main_with_clear_errors(main)
