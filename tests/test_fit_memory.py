"""--fit-memory: the per-GPU batch and memory setting that fit a budget,
the recipe's clips per step kept by accumulation; on a CPU, with a
stand-in probe of known peaks."""
import os.path as osp

import pytest

from conftest import REPO, call_tool, load_config, tool_module
from mmaction_aim.analysis.fit_memory import (divisors, fit_batch,
                                              linear_probe)
from mmaction_aim.engine.resolve import resolve
from mmaction_aim.utils import BadInputError

VITB = osp.join(REPO, 'configs', 'aim_vitb_k400.py')
GIB = 2**30
#: A stand-in of a ViT-B-like model: fixed bytes (weights, optimiser
#: states) and bytes per clip for each memory setting.
PROBE = linear_probe(
    fixed_bytes=dict(default=2 * GIB, recompute=2 * GIB, with_cp=2 * GIB),
    bytes_per_clip=dict(default=1.5 * GIB, recompute=0.8 * GIB,
                        with_cp=0.2 * GIB))


def test_divisors():
    assert divisors(32) == [32, 16, 8, 4, 2, 1]
    assert divisors(12) == [12, 6, 4, 3, 2, 1]


@pytest.mark.parametrize('budget,batch,setting,accumulate', [
    (80, 32, 'as configured', 1),     # 2 + 1.5 x 32 = 50 GiB
    (16, 8, 'as configured', 4),      # 14 GiB; 16 clips would be 26
    (4, 1, 'as configured', 32),      # 3.5 GiB
    (3, 1, 'recompute_frozen', 32),   # 2.8 GiB recomputing
    (2.5, 2, 'with_cp', 16),          # 2.4 GiB with checkpointing
])
def test_the_fastest_setting_and_largest_batch_that_fit(budget, batch,
                                                         setting,
                                                         accumulate):
    calls = []

    def probe(options, size):
        calls.append(size)
        return PROBE(options, size)

    fit = fit_batch(load_config(VITB), 2, budget * GIB, probe)
    assert (fit.batch_size, fit.accumulate) == (batch, accumulate)
    assert fit.setting.startswith(setting)
    assert fit.batch_size * 2 * fit.accumulate == 64  # the recipe's batch
    assert fit.peak_bytes <= budget * GIB
    assert len(calls) <= 4 * 3  # bisection: a few steps per setting


def test_nothing_fits_is_one_sentence():
    with pytest.raises(BadInputError, match='one clip per GPU does not fit '
                       r'1.0 GiB even with activation checkpointing \(a '
                       r'training step peaks at 2.2 GiB\)'):
        fit_batch(load_config(VITB), 2, 1 * GIB, PROBE)


def test_train_applies_the_fit_through_the_resolution(monkeypatch):
    """tools/train.py --fit-memory: the chosen batch and setting become
    config changes with their reason; the accumulation follows."""
    train = tool_module('train.py')
    monkeypatch.setenv('WORLD_SIZE', '2')
    args = train.parse_args([VITB, '--fit-memory', '3'])
    options, reason = train.fit_memory(args, probe=PROBE)
    cfg, changes = resolve(load_config(VITB),
                           _request(train, args, (options, reason)),
                           accelerator=True)
    assert cfg.train_dataloader.batch_size == 1
    assert cfg.model.backbone.recompute_frozen == ('temporal', 'spatial',
                                                   'mlp')
    assert cfg.optim_wrapper.accumulative_counts == 32
    lines = [str(c) for c in changes if '--fit-memory 3' in str(c)]
    assert lines and '1 videos per GPU' in lines[0]


def _request(train, args, fitted):
    import dataclasses
    args.fit_memory = None
    return dataclasses.replace(train.request_of(args), fitted=fitted)


def test_fit_memory_needs_a_gpu():
    import torch
    if torch.cuda.is_available():
        pytest.skip('a GPU is here')
    proc = call_tool(['train.py', VITB, '--fit-memory', '16'], check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == ('error: --fit-memory measures training '
                                   'steps on a GPU, and none is here')
    bad = call_tool(['train.py', VITB, '--fit-memory', '0'], check=False)
    assert bad.returncode == 2 and 'a number > 0 is needed' in bad.stderr


def test_memory_plan_script_on_a_tiny_config(tmp_path):
    """tools/analysis/memory_plan.py measures saved activations per clip
    and plans each budget and GPU count with --fit-memory's rule."""
    import json
    config = osp.join(REPO, 'tests', 'configs', 'tiny_accumulation.py')
    out = tmp_path / 'plan.json'
    proc = call_tool(['analysis/memory_plan.py', config, '--budgets', '1',
                      '--gpus', '1', '2', '--json', str(out)])
    plan = json.loads(out.read_text())
    per_clip = plan['measured']['default']['saved_per_clip']
    assert 0 < per_clip < 50 * 2**20
    # A tiny model fits 1 GB with every clip of a step on one GPU.
    assert [(r['gpus'], r['batch'], r['accumulate']) for r in
            plan['plan']] == [(1, 4, 1), (2, 2, 1)]
    assert '| 1 GB | 2 | 2 | as configured | 1 |' in proc.stdout
