"""Test-only hook: hold a training run still after a given iteration, so a
test can kill it at a known point (after that iteration's checkpoint)."""
import os.path as osp
import time

from mmengine.hooks import Hook

from mmaction.registry import HOOKS


@HOOKS.register_module()
class PauseAfterIterHook(Hook):
    """After iteration ``iteration`` (1-based) and its checkpoint, write
    ``<work_dir>/paused`` and sleep.

    Args:
        iteration (int): The iteration to stop after.
        seconds (float): How long to sleep. Defaults to 600.
    """

    priority = 'LOWEST'  # after CheckpointHook

    def __init__(self, iteration: int, seconds: float = 600.) -> None:
        self.iteration = iteration
        self.seconds = seconds

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 == self.iteration:
            with open(osp.join(runner.work_dir, 'paused'), 'w') as f:
                f.write(str(runner.iter + 1))
            time.sleep(self.seconds)
