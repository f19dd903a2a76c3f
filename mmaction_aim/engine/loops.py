"""Training loops that resume exactly, even from a mid-epoch checkpoint."""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from mmaction.registry import LOOPS


def iteration_seed(seed: int, iteration: int) -> int:
    """A 32-bit seed for one training iteration, from the run's seed."""
    return int(np.random.SeedSequence([seed % 2**32, iteration])
               .generate_state(1)[0])


def seed_everything(seed: int) -> None:
    """Seed python's, numpy's and torch's (all devices) global generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@LOOPS.register_module()
class AIMEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` whose runs can be killed and resumed exactly.

    MMEngine's loop restarts the whole epoch when resumed from a checkpoint
    saved mid-epoch (``CheckpointHook(by_epoch=False)``), and the random
    generators of the resumed run are not where they were. This loop:

    * on resume, skips the batches of the current epoch that were already
      trained on (they are still loaded, so data-loading workers draw the
      same random numbers as in the uninterrupted run);
    * seeds the global generators at the start of every iteration from the
      run's seed and the iteration number, before that iteration's batch is
      loaded, so augmentation (with ``num_workers=0``), dropout and drop-path
      depend only on the seed and the iteration, not on history.

    With ``randomness=dict(seed=..., deterministic=True)`` a run killed at any
    point and resumed with ``--resume`` ends with the same weights as an
    uninterrupted run. Workers (``num_workers > 0``) are seeded by MMEngine
    per epoch; exact resumption then needs ``persistent_workers=False``.
    Without a seed it behaves as MMEngine's loop, plus the mid-epoch skip.

    Args: as ``mmengine.runner.EpochBasedTrainLoop``.
    """

    def _run_seed(self) -> Optional[int]:
        return getattr(self.runner, 'seed', None)

    def run_epoch(self) -> None:
        """Iterate one epoch, from where a resumed run left it."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        num_batches = len(self.dataloader)
        done = self._iter - self._epoch * num_batches
        if not 0 <= done <= num_batches:
            done = 0
        iterator = iter(self.dataloader)
        if done:
            print_log(
                f'Resuming epoch {self._epoch + 1} at batch {done + 1} of '
                f'{num_batches}: loading and skipping the {done} batches '
                'already trained on.', logger='current')
            for _ in range(done):
                next(iterator)
        seed = self._run_seed()
        for idx in range(done, num_batches):
            if seed is not None:
                seed_everything(iteration_seed(seed, self._iter))
            try:
                data_batch = next(iterator)
            except StopIteration:
                break
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1


class _SeededIterator:
    """Seeds the global generators from the loop's iteration before each
    batch is fetched; otherwise the wrapped iterator."""

    def __init__(self, loop: 'AIMIterBasedTrainLoop', iterator) -> None:
        self._loop = loop
        self._iterator = iterator

    def __iter__(self):
        return self

    def __next__(self):
        seed = getattr(self._loop.runner, 'seed', None)
        if seed is not None:
            seed_everything(iteration_seed(seed, self._loop.iter))
        return next(self._iterator)

    def __getattr__(self, name):
        return getattr(self._iterator, name)


@LOOPS.register_module()
class AIMIterBasedTrainLoop(IterBasedTrainLoop):
    """``IterBasedTrainLoop`` with the per-iteration seeding of
    :class:`AIMEpochBasedTrainLoop`.

    MMEngine's loop already skips the batches trained on before a resume;
    seeding every iteration from the run's seed and the iteration number
    makes the resumed run draw the same random numbers as an uninterrupted
    one (same conditions as :class:`AIMEpochBasedTrainLoop`).

    Args: as ``mmengine.runner.IterBasedTrainLoop``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.dataloader_iterator = _SeededIterator(self,
                                                   self.dataloader_iterator)
