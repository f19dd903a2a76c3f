"""AIM's MMEngine runner: safe and strict checkpoint loading, checks before
the first iteration, and the adjustments a CPU-only machine needs.

Selected by ``runner_type = 'AIMRunner'`` (every config of this package
sets it; ``tools/train.py`` and ``tools/test.py`` default to it), through
MMEngine's own ``RUNNERS`` registry. Everything here overrides a public
method of MMEngine's :class:`~mmengine.runner.Runner`:

* :meth:`load_checkpoint` (``load_from``, ``--resume``, ``tools/test.py``):
  the file is read by :func:`~mmaction_aim.checkpoint.read_checkpoint`
  (nothing in it runs), then the model's own pipeline loads it strictly
  (``AIMRecognizer.load_checkpoint``: older layouts upgraded, the temporal
  embedding resized, the fit checked, adapter-only files merged onto their
  image model). MMEngine's own load is non-strict and only logs mismatched
  keys, leaving a model silently at its initialisation.
* :meth:`train`, :meth:`val`, :meth:`test` run with the checkpoint
  allow-list in effect (``torch.serialization.safe_globals``), so that
  MMEngine's own reads (an ``init_cfg`` of type ``Pretrained``) take
  MMEngine checkpoints under PyTorch's ``weights_only`` default.
* :meth:`build_optim_wrapper`, :meth:`build_train_loop`,
  :meth:`build_dataloader`: on a machine without a GPU mixed precision
  falls back to float32; MMEngine's ``EpochBasedTrainLoop`` /
  ``IterBasedTrainLoop`` become our resumable ones; ``persistent_workers``
  is switched off where there are no workers. Each change is logged as one
  ``Config changed by the runner: ...`` line, only when that part is built.
* :meth:`setup_env`, :meth:`wrap_model`: ``torchrun`` on a machine
  without a GPU. MMEngine's PyTorch launcher pins a CUDA device and gives
  DDP CUDA ``device_ids``; here each CPU process joins the process group
  itself (gloo), which MMEngine then leaves alone, and DDP gets no
  ``device_ids``, as PyTorch runs CPU modules.
* :class:`~.preflight.PreflightHook` is registered: labels, clip lengths and
  the shape of one sample are checked before the first iteration.
"""
import datetime
import logging
from typing import Any, Callable, Optional, Union

import torch
from mmengine.dist import is_distributed
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmaction.registry import RUNNERS
from ..checkpoint import (allow_checkpoint_globals, allow_list_in_effect,
                          check_fits, read_checkpoint, strip_prefix, unwrap)
from ..datasets.transforms import with_mean_fill
from .preflight import ConfigMismatchError
from .runner_setup import accelerator_available


@RUNNERS.register_module()
class AIMRunner(Runner):
    """MMEngine's :class:`~mmengine.runner.Runner` with AIM's loading and
    checks (see the module docstring).

    Config keys it reads besides MMEngine's:

    * ``checkpoint_safe_globals`` (list[str]): plain-data classes the run's
      checkpoints may also contain
      (:func:`~mmaction_aim.checkpoint.allow_checkpoint_globals`);
    * ``checkpoint_ignore_keys`` (list[str]): key patterns of ``load_from``
      that may be missing, unexpected or differently shaped (a new
      classifier when fine-tuning), e.g. ``['^cls_head\\\\.']``;
    * ``allow_other_image_model`` (bool): merge adapter-only weights even
      onto another image model than they were trained on.

    Args: as :class:`~mmengine.runner.Runner`.
    """

    def __init__(self, *args, **kwargs) -> None:
        cfg = kwargs.get('cfg') or {}
        self._changes = []
        names = list(cfg.get('checkpoint_safe_globals') or [])
        if names:
            allow_checkpoint_globals(names)
            self._changes.append((logging.INFO, 'checkpoints may also '
                                  f'contain {", ".join(names)} '
                                  '(checkpoint_safe_globals)'))
        env_cfg = kwargs.get('env_cfg') or dict(dist_cfg=dict(backend='nccl'))
        dist_cfg = dict(env_cfg.get('dist_cfg') or {})
        if not accelerator_available() and \
                dist_cfg.get('backend', 'nccl') == 'nccl':
            if kwargs.get('launcher', 'none') != 'none':
                self._changes.append(
                    (logging.INFO, 'env_cfg.dist_cfg.backend: nccl -> gloo '
                     '(no GPU found)'))
            kwargs['env_cfg'] = dict(env_cfg,
                                     dist_cfg=dict(dist_cfg, backend='gloo'))
        self._resuming = False
        super().__init__(*args, **kwargs)
        for level, message in self._changes:
            self._report(message, level)
        self.register_hook(dict(type='PreflightHook'), priority='VERY_HIGH')

    def setup_env(self, env_cfg: dict) -> None:
        if self.distributed and self.launcher == 'pytorch' and \
                not is_distributed() and not accelerator_available():
            dist_cfg = env_cfg.get('dist_cfg') or {}
            timeout = dist_cfg.get('timeout')
            torch.distributed.init_process_group(
                backend='gloo', **({} if timeout is None else dict(
                    timeout=datetime.timedelta(seconds=timeout))))
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg: Optional[dict],
                   model: torch.nn.Module) -> torch.nn.Module:
        if self.distributed and model_wrapper_cfg is None and \
                not is_model_wrapper(model) and not accelerator_available():
            model_wrapper_cfg = dict(
                type='MMDistributedDataParallel', device_ids=None,
                broadcast_buffers=False,
                find_unused_parameters=self.cfg.get(
                    'find_unused_parameters', False))
        return super().wrap_model(model_wrapper_cfg, model)

    def _report(self, message: str, level: int = logging.INFO) -> None:
        print_log(f'Config changed by the runner: {message}',
                  logger=self.logger, level=level)

    # ---------------------------------------------------------- running
    def train(self) -> torch.nn.Module:
        with allow_list_in_effect():
            return super().train()

    def val(self) -> dict:
        with allow_list_in_effect():
            return super().val()

    def test(self) -> dict:
        with allow_list_in_effect():
            return super().test()

    # ---------------------------------------------------------- loading
    def resume(self, filename: str, *args, **kwargs) -> None:
        self._resuming = True
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._resuming = False

    def load_checkpoint(self, filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = False,
                        revise_keys: Optional[list] = None) -> Any:
        """Read ``filename`` safely and load it into the model strictly.

        Keys matching the config's ``checkpoint_ignore_keys`` are exempt
        (never when resuming). ``strict`` and ``revise_keys`` of MMEngine's
        signature are not used: loading is always strict, and DDP's
        ``module.`` is stripped by the pipeline.

        Returns:
            The checkpoint, as MMEngine's ``resume`` expects it.
        """
        checkpoint = read_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else \
            self.model
        ignore = () if self._resuming else tuple(
            self.cfg.get('checkpoint_ignore_keys') or ())
        if hasattr(model, 'load_checkpoint'):
            model.load_checkpoint(
                checkpoint, name=filename, ignore=ignore,
                allow_other_image_model=bool(
                    self.cfg.get('allow_other_image_model', False)))
        else:  # any other MMEngine model: the fit check, a strict load
            state = strip_prefix(unwrap(checkpoint, keys=('state_dict', ),
                                        name=filename))
            check_fits(model, state, filename, ignore)
            model.load_state_dict(state, strict=not ignore)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    # --------------------------------------------------------- building
    def build_optim_wrapper(self, optim_wrapper):
        if isinstance(optim_wrapper, dict) and \
                optim_wrapper.get('type') == 'AmpOptimWrapper' and \
                not accelerator_available():
            optim_wrapper = {k: v for k, v in optim_wrapper.items()
                             if k not in ('loss_scale', 'dtype', 'use_fsdp')}
            optim_wrapper['type'] = 'OptimWrapper'
            self._report('optim_wrapper.type: AmpOptimWrapper -> '
                         "OptimWrapper (no GPU found: MMEngine's mixed "
                         'precision needs one, so training runs in float32 '
                         'on the CPU)', logging.WARNING)
        return super().build_optim_wrapper(optim_wrapper)

    def build_train_loop(self, loop):
        if isinstance(loop, dict):
            loop = dict(loop)
            loop_type = loop.get('type')
            if loop_type is None and 'by_epoch' in loop:
                loop_type = ('EpochBasedTrainLoop' if loop.pop('by_epoch')
                             else 'IterBasedTrainLoop')
            if loop_type in ('EpochBasedTrainLoop', 'IterBasedTrainLoop'):
                loop['type'] = 'AIM' + loop_type
                self._report(f'train_cfg.type: {loop_type} -> AIM{loop_type} '
                             '(the same loop, which also resumes mid-epoch '
                             'and restores random state exactly)')
        return super().build_train_loop(loop)

    def build_dataloader(self, dataloader, seed: Optional[int] = None,
                         diff_rank_seed: bool = False):
        if isinstance(dataloader, dict) and \
                dataloader.get('num_workers', 0) == 0 and \
                dataloader.get('persistent_workers', False):
            dataloader = dict(dataloader, persistent_workers=False)
            self._report('persistent_workers: True -> False for a '
                         'dataloader with num_workers=0 (PyTorch refuses '
                         'persistent workers where there are none)')
        if isinstance(dataloader, dict):
            dataloader = self._fill_with_the_model_mean(dataloader)
        return Runner.build_dataloader(dataloader, seed, diff_rank_seed)

    def _fill_with_the_model_mean(self, dataloader: dict) -> dict:
        """``fill='mean'`` of a pipeline's ``ClipRandomErasing`` made the
        model's normalisation mean (0-255 RGB), so that the erased box
        normalises to 0 as in the original, whatever the image model."""
        dataset = dataloader.get('dataset') or {}
        pipeline = dataset.get('pipeline') or []
        if not any(isinstance(t, dict) and t.get('fill') == 'mean'
                   for t in pipeline):
            return dataloader
        model = self.model.module if is_model_wrapper(self.model) else \
            self.model
        preprocessor = getattr(model, 'data_preprocessor', None)
        mean = getattr(preprocessor, 'mean', None)
        if mean is None:
            raise ConfigMismatchError(
                "ClipRandomErasing(fill='mean') fills with the model's "
                'normalisation mean, but the data preprocessor has none; '
                'give the colour (RGB, 0-255)')
        mean = mean.flatten().tolist()
        pipeline = with_mean_fill(pipeline, mean)
        self._report(f"ClipRandomErasing fill: 'mean' -> "
                     f"{[round(v, 4) for v in mean]} (the "
                     "model's normalisation mean)")
        return dict(dataloader, dataset=dict(dataset, pipeline=pipeline))
