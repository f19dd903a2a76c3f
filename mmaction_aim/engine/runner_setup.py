"""Config adjustments shared by tools/train.py and tools/test.py."""
import contextlib
import logging
import os
import sys
from typing import Iterator, List, Optional, Tuple

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


def report_config_changes(runner=None) -> None:
    """Log, one line each, what the tool changed in the config and why
    (through the runner's logger, so also into the run's log file)."""
    logger = runner.logger if runner is not None else 'current'
    while _changes:
        level, message = _changes.pop(0)
        print_log(f'Config changed by the tool: {message}', logger=logger,
                  level=level)


def adapt_to_cpu(cfg: Config) -> Config:
    """Make a GPU config runnable on a machine without an accelerator.

    * ``AmpOptimWrapper`` -> ``OptimWrapper`` (float32), with a warning:
      MMEngine's AMP needs CUDA, and bf16 autocast on these CPUs is orders of
      magnitude slower than float32.
    * The ``nccl`` distributed backend -> ``gloo``.

    Args:
        cfg (Config): Modified in place.

    Returns:
        Config: ``cfg``.
    """
    if accelerator_available():
        return cfg
    optim = cfg.get('optim_wrapper')
    if optim is not None and optim.get('type') == 'AmpOptimWrapper':
        _warn('optim_wrapper.type: AmpOptimWrapper -> OptimWrapper (no GPU '
              'found: MMEngine\'s mixed precision needs one, so training '
              'runs in float32 on the CPU)')
        optim['type'] = 'OptimWrapper'
        for key in ('loss_scale', 'dtype', 'use_fsdp'):
            optim.pop(key, None)
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        if cfg.get('launcher', 'none') != 'none':
            _info('env_cfg.dist_cfg.backend: nccl -> gloo (no GPU found)')
        dist_cfg['backend'] = 'gloo'
    return cfg


def use_resumable_loop(cfg: Config) -> Config:
    """Train with :class:`AIMEpochBasedTrainLoop` / ``AIMIterBasedTrainLoop``.

    Our configs name these loops themselves. A config that names MMEngine's
    ``EpochBasedTrainLoop`` / ``IterBasedTrainLoop`` (or only ``by_epoch``)
    gets ours, with one logged line saying so: MMEngine's cannot resume
    mid-epoch, and neither restores random state on resume; ours do, and are
    otherwise the same.

    Args:
        cfg (Config): Modified in place.

    Returns:
        Config: ``cfg``.
    """
    train_cfg = cfg.get('train_cfg')
    if not train_cfg:
        return cfg
    loop_type = train_cfg.get('type')
    if loop_type is None and 'by_epoch' in train_cfg:
        loop_type = ('EpochBasedTrainLoop' if train_cfg.pop('by_epoch') else
                     'IterBasedTrainLoop')
    if loop_type in ('EpochBasedTrainLoop', 'IterBasedTrainLoop'):
        train_cfg['type'] = 'AIM' + loop_type
        _info(f'train_cfg.type: {loop_type} -> AIM{loop_type} (the same '
              'loop, which also resumes mid-epoch and restores random state '
              'exactly)')
    return cfg


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


def checkpoint_to_load(runner) -> Optional[str]:
    """The checkpoint ``runner.load_or_resume()`` is about to load, if any."""
    from mmengine.runner import find_latest_checkpoint
    if runner._resume and runner._load_from is None:
        return find_latest_checkpoint(runner.work_dir)
    return runner._load_from


def allow_config_checkpoint_globals(cfg: Config) -> None:
    """Apply the config's ``checkpoint_safe_globals`` (full names of extra
    types its checkpoints may contain; see
    :func:`mmaction_aim.engine.allow_checkpoint_globals`)."""
    from .checkpoint import allow_checkpoint_globals
    names = cfg.get('checkpoint_safe_globals') or []
    if names:
        allow_checkpoint_globals(list(names))
        _info('checkpoints may also contain ' + ', '.join(names) +
              ' (checkpoint_safe_globals)')


@contextlib.contextmanager
def checked_checkpoint(runner, initialises: bool = False) -> Iterator[None]:
    """Check the checkpoint the runner will load against its model, then
    let the runner load it without reading the file again.

    Use as ``with checked_checkpoint(runner): runner.test()``.

    MMEngine loads ``load_from`` / ``--resume`` / the test checkpoint
    non-strictly and only logs mismatched keys, so a checkpoint of another
    architecture silently leaves the model at its initialisation. Here any
    missing, unexpected or differently shaped key is a
    :class:`CheckpointMismatchError` naming them (decided by
    :func:`find_mismatches`, which leaves the model untouched); keys
    matching the config's ``checkpoint_ignore_keys`` (regular expressions,
    e.g. ``['^cls_head\\.']`` to fine-tune with a new classifier from
    ``load_from``) are exempt. Local and remote checkpoints are read once,
    here, through the safe loaders; a remote one that cannot be read here is
    logged as unchecked and left to MMEngine.

    An adapter-only checkpoint (``meta['adapter_only']``) takes the explicit
    merge path, :meth:`AIMRecognizer.load_adapters`: the image model from
    ``backbone.pretrained``, the file onto it. When the runner initialises
    the model itself before loading (training: ``init_weights`` loads the
    image model), only the file's keys are checked here and MMEngine's load
    then puts the adaptation onto the initialised image model, so the image
    model's file is read once either way.

    Args:
        runner (mmengine.runner.Runner): A built runner.
        initialises (bool): The runner calls ``init_weights`` before it
            loads the checkpoint (``runner.train()``). Defaults to False.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    from ..models.recognizers import is_adapter_only
    from .checkpoint import preloaded_checkpoint, state_dict_of
    from .checkpoint_fit import check_checkpoint_matches
    path = checkpoint_to_load(runner)
    if path is None:
        yield
        return
    try:
        checkpoint = CheckpointLoader.load_checkpoint(path,
                                                      map_location='cpu')
    except (OSError, RuntimeError) as exc:
        if '://' not in path or isinstance(exc, FileNotFoundError):
            raise
        runner.logger.warning(
            f'Could not read {path} to check it against the model '
            f'({type(exc).__name__}: {exc}); it was NOT checked, and '
            'MMEngine will load it non-strictly.')
        yield
        return
    model = getattr(runner.model, 'module', runner.model)
    ignore = () if runner._resume else tuple(
        runner.cfg.get('checkpoint_ignore_keys', None) or ())
    if is_adapter_only(checkpoint) and not runner._resume:
        if not initialises:
            # The image model from backbone.pretrained, the file merged onto
            # it; MMEngine's own (non-strict) load is then skipped.
            model.load_adapters(state_dict_of(checkpoint))
            runner._load_from = None
            yield
            return
        model.check_adapter_keys(state_dict_of(checkpoint), name=path)
    else:
        check_checkpoint_matches(model, checkpoint, name=path, ignore=ignore)
    with preloaded_checkpoint(path, checkpoint):
        yield


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
