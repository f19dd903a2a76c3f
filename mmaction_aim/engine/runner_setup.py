"""Config adjustments shared by tools/train.py and tools/test.py."""
import logging
import os
import sys
from typing import Optional

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


def _warn(message: str) -> None:
    print_log(message, logger='current', level=logging.WARNING)


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
        _warn('No GPU found: mixed precision (AmpOptimWrapper / --amp) is '
              'off, training runs in float32 on the CPU.')
        optim['type'] = 'OptimWrapper'
        for key in ('loss_scale', 'dtype', 'use_fsdp'):
            optim.pop(key, None)
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        if cfg.get('launcher', 'none') != 'none':
            print_log('No GPU found: distributed backend nccl -> gloo.',
                      logger='current')
        dist_cfg['backend'] = 'gloo'
    return cfg


def use_resumable_loop(cfg: Config) -> Config:
    """Train with :class:`AIMEpochBasedTrainLoop` / ``AIMIterBasedTrainLoop``.

    MMEngine's ``EpochBasedTrainLoop`` cannot resume mid-epoch, and neither
    of its loops restores random state on resume; ours do, and are otherwise
    the same.

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


def checkpoint_to_load(runner) -> Optional[str]:
    """The checkpoint ``runner.load_or_resume()`` is about to load, if any."""
    from mmengine.runner import find_latest_checkpoint
    if runner._resume and runner._load_from is None:
        return find_latest_checkpoint(runner.work_dir)
    return runner._load_from


def verify_checkpoint_fits(runner, initialises: bool = False) -> None:
    """Stop before training/testing if the checkpoint does not fit the model.

    MMEngine loads ``load_from`` / ``--resume`` / the test checkpoint
    non-strictly and only logs mismatched keys, so a checkpoint of another
    architecture silently leaves the model at its initialisation. Here any
    missing, unexpected or differently shaped key is an error naming them;
    keys matching the config's ``checkpoint_ignore_keys`` (regular
    expressions, e.g. ``['^cls_head\\.']`` to fine-tune with a new classifier
    from ``load_from``) are exempt.

    An adapter-only checkpoint (``meta['adapter_only']``) takes the explicit
    merge path, :meth:`AIMRecognizer.load_adapters`: the image model from
    ``backbone.pretrained``, the file onto it. When the runner initialises
    the model itself before loading (training: ``init_weights`` loads the
    image model), only the file's keys are checked here and MMEngine's load
    then puts the adaptation onto the initialised image model.

    Args:
        runner (mmengine.runner.Runner): A built runner.
        initialises (bool): The runner calls ``init_weights`` before it
            loads the checkpoint (``runner.train()``). Defaults to False.
    """
    from ..models.recognizers import is_adapter_only
    from .checkpoint import check_checkpoint_matches, safe_load, state_dict_of
    path = checkpoint_to_load(runner)
    if path is None or '://' in path:
        return
    ignore = () if runner._resume else tuple(
        runner.cfg.get('checkpoint_ignore_keys', None) or ())
    checkpoint = safe_load(path, map_location='cpu')
    model = getattr(runner.model, 'module', runner.model)
    if is_adapter_only(checkpoint) and not runner._resume:
        if initialises:
            model.check_adapter_keys(state_dict_of(checkpoint), name=path)
            return
        # The image model from backbone.pretrained, the file merged onto
        # it; MMEngine's own (non-strict) load is then skipped.
        model.load_adapters(state_dict_of(checkpoint))
        runner._load_from = None
        return
    check_checkpoint_matches(runner.model, checkpoint, name=path,
                             ignore=ignore)


def finish_distributed() -> None:
    """End a distributed tool run: tear the process group down and exit.

    A torchrun rank that finished its work could still abort at interpreter
    shutdown ("terminate called without an active exception": a native
    thread destroyed while joinable during teardown), failing the whole job
    after its checkpoints were written; seen in about one run in three of
    two CPU processes. So a distributed run, once every rank is done, leaves
    without the interpreter teardown: logs and standard streams are flushed,
    then ``os._exit(0)``. Non-distributed runs return normally.
    """
    if not (torch.distributed.is_available()
            and torch.distributed.is_initialized()):
        return
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
    logging.shutdown()
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
