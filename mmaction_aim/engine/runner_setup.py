"""Building and ending a tool's run (what a run is: :mod:`.resolve`)."""
import logging
import os
import sys
from typing import Sequence

import torch
from mmengine.config import Config

from .resolve import Change, accelerator_available, log_changes


def build_runner(cfg: Config, changes: Sequence[Change] = ()):
    """The runner of a resolved config, through MMAction2's ``RUNNERS``
    registry (its ``runner_type``), with ``changes`` (what the resolution
    changed) logged once through the run's logger, so also into its log
    file."""
    from mmaction.registry import RUNNERS
    runner = RUNNERS.build(cfg)
    log_changes(changes, runner.logger, 'the tool')
    return runner


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
