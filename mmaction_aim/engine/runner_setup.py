"""What tools/train.py and tools/test.py change in a config from their
command line (the runner's own adjustments: :mod:`.runner`)."""
import logging
import os
import sys
from typing import List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import print_log


def accelerator_available() -> bool:
    """Whether a GPU (or another device MMEngine's AMP supports) is present."""
    if torch.cuda.is_available():
        return True
    from mmengine.device import (is_mlu_available, is_musa_available,
                                 is_npu_available)
    return is_npu_available() or is_mlu_available() or is_musa_available()


# What the tools changed in a user's config, logged once the runner (and
# with it the run's log file) exists: see report_config_changes.
_changes: List[Tuple[int, str]] = []


def _warn(message: str) -> None:
    _changes.append((logging.WARNING, message))


def _info(message: str) -> None:
    _changes.append((logging.INFO, message))


def note_config_change(message: str) -> None:
    """Record one change a tool made to the config, logged (one line) once
    the run's logger exists."""
    _info(message)


def report_config_changes(runner=None) -> None:
    """Log, one line each, what the tool changed in the config and why
    (through the runner's logger, so also into the run's log file); the
    runner adds its own lines (:class:`~.runner.AIMRunner`)."""
    logger = runner.logger if runner is not None else 'current'
    while _changes:
        level, message = _changes.pop(0)
        print_log(f'Config changed by the tool: {message}', logger=logger,
                  level=level)


def apply_randomness_flags(cfg: Config, seed: Optional[int] = None,
                           diff_rank_seed: bool = False,
                           deterministic: bool = False) -> Config:
    """Put ``--seed``, ``--diff-rank-seed`` and ``--deterministic`` into the
    config's ``randomness``: the command line wins over the config, and
    each value it changes is logged.

    Args:
        cfg (Config): Modified in place.
        seed (int, optional): ``--seed``.
        diff_rank_seed (bool): ``--diff-rank-seed`` was given.
        deterministic (bool): ``--deterministic`` was given.

    Returns:
        Config: ``cfg``.
    """
    if cfg.get('randomness') is None:
        cfg.randomness = dict(seed=None)
    randomness = cfg.randomness
    wanted = dict(seed=seed) if seed is not None else {}
    if diff_rank_seed:
        wanted['diff_rank_seed'] = True
    if deterministic:
        wanted['deterministic'] = True
    for key, value in wanted.items():
        before = randomness.get(key)
        if before != value:
            randomness[key] = value
            _info(f'randomness.{key}: {before!r} -> {value!r} (from the '
                  'command line, which wins over the config)')
    return cfg


def default_work_dir(cfg: Config, config_path: str,
                     work_dir: Optional[str]) -> Config:
    """``--work-dir`` > ``work_dir`` in the config > ``work_dirs/<name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = os.path.join(
            'work_dirs', os.path.splitext(os.path.basename(config_path))[0])
    return cfg


def add_dump_evaluator(cfg: Config, out_file: str) -> Config:
    """Also dump the test predictions to ``out_file`` (``.pkl``), through
    MMEngine's ``DumpResults`` metric, beside the config's evaluators."""
    if not out_file.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--dump must name a .pkl file, got {out_file}')
    dump = dict(type='DumpResults', out_file_path=out_file)
    evaluators = cfg.test_evaluator
    cfg.test_evaluator = (list(evaluators) + [dump]) if isinstance(
        evaluators, (list, tuple)) else [evaluators, dump]
    return cfg


def finish_distributed(runner=None) -> None:
    """End a distributed tool run once every rank is done.

    The visualizer (TensorBoard, W&B, local backends) is closed if no
    ``LoggerHook`` closed it, every log handler is flushed and closed, and
    the process group is torn down. Then, only for the case that needs it,
    CPU processes under gloo, the process leaves with ``os._exit(0)``
    without the interpreter teardown: such a rank could abort there
    ("terminate called without an active exception": a native thread
    destroyed while joinable), failing the job after its work was written;
    seen in about one run in three of two CPU processes. Everything else
    returns normally.

    Args:
        runner (mmengine.runner.Runner, optional): The run's runner.
    """
    if not (torch.distributed.is_available()
            and torch.distributed.is_initialized()):
        return
    torch.distributed.barrier()
    if runner is not None:
        from mmengine.hooks import LoggerHook
        if not any(isinstance(h, LoggerHook) for h in runner.hooks):
            runner.visualizer.close()
    gloo = torch.distributed.get_backend() == 'gloo'
    torch.distributed.destroy_process_group()
    if not gloo or accelerator_available():
        return
    logging.shutdown()  # flushes and closes every handler, MMEngine's too
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def merge_cfg_options(cfg: Config, options: Optional[dict]) -> Config:
    """``cfg.merge_from_dict(options)``, warning about top-level variables.

    A config's top-level variables (``data_root``, ``num_classes``, ...) are
    read when the file is parsed: setting one with ``--cfg-options`` changes
    that variable alone, not the dataset paths or head sizes computed from
    it. Such an option is still applied, with a warning that names the
    nested keys to set instead.

    Args:
        cfg (Config): Modified in place.
        options (dict, optional): Parsed ``--cfg-options``.

    Returns:
        Config: ``cfg``.
    """
    if not options:
        return cfg
    for key in options:
        if '.' not in key and key in cfg and not isinstance(
                cfg[key], dict):
            _warn(f'--cfg-options {key}=...: `{key}` is a top-level variable '
                  'of the config; fields computed from it when the file was '
                  'read keep their values. Set the nested keys instead, e.g. '
                  'train_dataloader.dataset.ann_file=..., '
                  'train_dataloader.dataset.data_prefix.video=..., '
                  'model.cls_head.num_classes=...')
    cfg.merge_from_dict(options)
    return cfg


def build_runner(cfg: Config):
    """The config's runner, through MMAction2's ``RUNNERS`` registry: its
    ``runner_type``, or :class:`~.runner.AIMRunner` (logged) for a config
    that names none."""
    from mmaction.registry import RUNNERS
    if 'runner_type' not in cfg:
        cfg.runner_type = 'AIMRunner'
        _info("runner_type: (none) -> 'AIMRunner' (safe, strict checkpoint "
              'loading and checks before the first iteration)')
    runner = RUNNERS.build(cfg)
    report_config_changes(runner)
    return runner
