"""Fit a run to the GPU memory it has: the per-GPU batch and, where needed,
the memory setting, keeping the recipe's clips per optimiser step by
accumulation (``tools/train.py --fit-memory GB``).

:func:`fit_batch` tries the memory settings from the fastest to the most
frugal (the config's own; every frozen part recomputed,
``recompute_frozen``; activation checkpointing of every block,
``with_cp``) and, for each, the per-GPU batches that divide the clips each
process contributes to a step, largest first; the first that a *probe*
says fits the budget wins. The probe is a function ``(options, batch) ->
peak bytes``: on a GPU, :func:`cuda_probe` measures two training steps at
the config's settings; :func:`linear_probe` is the stand-in the tests and
the estimates of ``docs/reproduction.md`` use (fixed bytes plus bytes per
clip, from measured saved-activation bytes).
"""
import dataclasses
import math
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config

from ..engine.resolve import clips_per_iteration
from ..utils.errors import BadInputError

#: A probe: (config options, per-GPU batch) -> peak bytes of a training
#: step (``math.inf`` where it does not fit at all).
Probe = Callable[[Dict[str, object], int], float]

#: The memory settings, fastest first: (name, config options).
SETTINGS: Sequence[Tuple[str, Dict[str, object]]] = (
    ('as configured', {}),
    ('recompute_frozen (every frozen part recomputed)',
     {'model.backbone.recompute_frozen': ('temporal', 'spatial', 'mlp')}),
    ('with_cp (activation checkpointing of every block)',
     {'model.backbone.recompute_frozen': ('temporal', 'spatial', 'mlp'),
      'model.backbone.with_cp': True}),
)


@dataclasses.dataclass(frozen=True)
class Fit:
    """What fits.

    Attributes:
        batch_size (int): Videos per GPU per iteration.
        setting (str): The memory setting's name.
        options (dict): The config options to apply (batch and setting).
        accumulate (int): Iterations accumulated per optimiser step.
        peak_bytes (float): The probe's peak at that batch.
    """
    batch_size: int
    setting: str
    options: Dict[str, object]
    accumulate: int
    peak_bytes: float


def divisors(n: int) -> List[int]:
    """Divisors of ``n``, largest first."""
    return sorted({d for i in range(1, math.isqrt(n) + 1) if n % i == 0
                   for d in (i, n // i)}, reverse=True)


def fit_batch(cfg: Config, world_size: int, budget_bytes: float,
              probe: Probe) -> Fit:
    """The fastest setting and largest per-GPU batch that fit the budget.

    Args:
        cfg (Config): The training config (its ``clips_per_step``).
        world_size (int): Processes (GPUs) of the run.
        budget_bytes (float): Memory each GPU may use.
        probe (Probe): Measures a training step's peak.

    Returns:
        Fit: The choice.

    Raises:
        BadInputError: No setting fits even one clip per GPU, or the
            config has no clips per step to keep.
    """
    target = cfg.get('clips_per_step')
    if target is None:
        raise BadInputError('--fit-memory keeps the recipe\'s clips per '
                            'optimiser step, and this config sets none '
                            '(clips_per_step)')
    per_video = clips_per_iteration(cfg, 1) // cfg.train_dataloader.batch_size
    if target % (world_size * per_video):
        raise BadInputError(
            f'clips_per_step={target} is not a multiple of {world_size} '
            f'processes x {per_video} clips per video: no per-GPU batch '
            'keeps it exactly')
    share = target // (world_size * per_video)
    smallest = math.inf
    for name, setting in SETTINGS:
        found = _largest_fitting(divisors(share), setting, probe,
                                 budget_bytes)
        if found is not None:
            batch, peak = found
            return Fit(batch, name,
                       dict(setting, **{'train_dataloader.batch_size':
                                        batch}),
                       share // batch, peak)
        smallest = min(smallest, probe(setting, 1))
    raise BadInputError(
        f'one clip per GPU does not fit {budget_bytes / 2**30:.1f} GiB even '
        f'with activation checkpointing (a training step peaks at '
        f'{smallest / 2**30:.1f} GiB): use GPUs with more memory or fewer '
        'frames')


def _largest_fitting(batches: List[int], setting: Dict[str, object],
                     probe: Probe, budget: float
                     ) -> Optional[Tuple[int, float]]:
    """The largest of ``batches`` (largest first) that fits, with its peak,
    found by bisection (a step's memory grows with its batch)."""
    peak_of = {}

    def fits(i: int) -> bool:
        peak_of[i] = probe(setting, batches[i])
        return peak_of[i] <= budget

    lo, hi = 0, len(batches) - 1  # batches[hi] is the smallest
    if not fits(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid + 1
    return batches[hi], peak_of[hi]


def linear_probe(fixed_bytes: Dict[str, float],
                 bytes_per_clip: Dict[str, float]) -> Probe:
    """A stand-in probe: ``fixed + batch x per_clip`` for each setting,
    keyed by the ``with_cp`` / ``recompute_frozen`` options (``'default'``,
    ``'recompute'``, ``'with_cp'``)."""

    def probe(options: Dict[str, object], batch: int) -> float:
        key = 'with_cp' if options.get('model.backbone.with_cp') else (
            'recompute' if 'model.backbone.recompute_frozen' in options
            else 'default')
        return fixed_bytes[key] + batch * bytes_per_clip[key]

    return probe


def cuda_probe(config: str, cfg_options: Optional[dict] = None,
               device: str = 'cuda') -> Probe:
    """The peak GPU memory of two training steps of ``config`` (its own
    precision: bfloat16 autocast, float32 weights, AdamW), random clips;
    ``math.inf`` where it runs out of memory."""
    from .benchmark import measure

    def probe(options: Dict[str, object], batch: int) -> float:
        merged = dict(cfg_options or {}, **options)
        torch.cuda.empty_cache()
        try:
            result = measure(config, 'aim', 'train', batch, repeats=1,
                             warmup=1, with_cp=bool(merged.pop(
                                 'model.backbone.with_cp', False)),
                             device=device, cfg_options=merged,
                             memory_only=True)
        except torch.cuda.OutOfMemoryError:
            return math.inf
        finally:
            torch.cuda.empty_cache()
        return result['peak_memory_bytes']

    return probe
