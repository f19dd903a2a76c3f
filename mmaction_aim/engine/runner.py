"""AIM's MMEngine runner: safe and strict checkpoint loading, checks before
the first iteration, and distributed CPU runs.

Selected by ``runner_type = 'AIMRunner'`` (every config of this package
sets it; the tools default to it), through MMEngine's own ``RUNNERS``
registry. The runner builds the config it is given: every change to a
user's config (the command line, the machine's fallbacks, the package's
completions) is made by :func:`~.resolve.resolve`, which
:meth:`AIMRunner.from_cfg` applies to a config no tool resolved (MMAction2's
own tools) and which changes nothing in a resolved one. Everything here
overrides a public method of MMEngine's :class:`~mmengine.runner.Runner`:

* :meth:`load_checkpoint` (``load_from``, ``--resume``, ``tools/test.py``):
  the file is read by :func:`~mmaction_aim.checkpoint.read_checkpoint`
  (nothing in it runs), then the model's own pipeline loads it strictly
  (``AIMRecognizer.load_checkpoint``: older layouts upgraded, the temporal
  embedding resized, the fit checked, adapter-only files merged onto their
  image model). MMEngine's own load is non-strict and only logs mismatched
  keys, leaving a model silently at its initialisation. The config's
  ``checkpoint_ignore_keys`` exempt keys only of a training run's
  ``load_from``: a checkpoint tested or validated alone must fit.
* :meth:`train`, :meth:`val`, :meth:`test` run with the checkpoint
  allow-list in effect (``torch.serialization.safe_globals``), so that
  MMEngine's own reads (an ``init_cfg`` of type ``Pretrained``) take
  MMEngine checkpoints under PyTorch's ``weights_only`` default.
* :meth:`setup_env`, :meth:`wrap_model`: ``torchrun`` on a machine
  without a GPU. MMEngine's PyTorch launcher pins a CUDA device and gives
  DDP CUDA ``device_ids``; here each CPU process joins the process group
  itself (gloo), which MMEngine then leaves alone, and DDP gets no
  ``device_ids``, as PyTorch runs CPU modules.
* :class:`~.preflight.PreflightHook` is registered: labels, clip lengths and
  the shape of one sample are checked before the first iteration.
"""
import datetime
from typing import Any, Callable, Optional, Union

import torch
from mmengine.dist import is_distributed
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmaction.registry import RUNNERS
from ..checkpoint import (allow_checkpoint_globals, allow_list_in_effect,
                          check_fits, read_checkpoint, strip_prefix, unwrap)
from .resolve import accelerator_available, log_changes, resolve


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
        names = list((kwargs.get('cfg') or {}).get('checkpoint_safe_globals')
                     or [])
        if names:
            allow_checkpoint_globals(names)
        self._training = False
        self._resuming = False
        super().__init__(*args, **kwargs)
        if names:
            self.logger.info(f'Checkpoints may also contain '
                             f'{", ".join(names)} (checkpoint_safe_globals)')
        self.register_hook(dict(type='PreflightHook'), priority='VERY_HIGH')

    @classmethod
    def from_cfg(cls, cfg) -> 'AIMRunner':
        """Build the runner of ``cfg`` resolved (:func:`~.resolve.resolve`:
        nothing changes in a config a tool resolved), logging each change
        once."""
        cfg, changes = resolve(cfg)
        runner = super().from_cfg(cfg)
        log_changes(changes, runner.logger, 'the runner')
        return runner

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

    # ---------------------------------------------------------- running
    def train(self) -> torch.nn.Module:
        self._training = True
        try:
            with allow_list_in_effect():
                return super().train()
        finally:
            self._training = False

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
        only for a training run's ``load_from`` (never when resuming, testing
        or validating alone). ``strict`` and ``revise_keys`` of MMEngine's
        signature are not used: loading is always strict, and DDP's
        ``module.`` is stripped by the pipeline.

        Returns:
            The checkpoint, as MMEngine's ``resume`` expects it.
        """
        checkpoint = read_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else \
            self.model
        ignore = tuple(self.cfg.get('checkpoint_ignore_keys') or ()) if \
            self._training and not self._resuming else ()
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
