"""The recipe's batch per optimiser step on any number of processes: one
process on the whole batch, one process accumulating clip by clip, and two
CPU processes accumulating end with the same parameters after the same
clips (float32, no dropout or drop-path, plain SGD)."""
import os
import os.path as osp

import pytest

from conftest import REPO, call_tool, data_options, run_tool
from mmaction_aim.checkpoint import read_checkpoint

CONFIG = osp.join(REPO, 'tests', 'configs', 'tiny_accumulation.py')


@pytest.fixture(scope='module')
def eight_clips(video_dataset, tmp_path_factory):
    """A list of 8 clips (the fixture's 6 training videos and 2 again):
    two optimiser steps of clips_per_step=4."""
    with open(video_dataset['train']) as f:
        lines = f.read().split()
    entries = [' '.join(lines[i:i + 2]) for i in range(0, len(lines), 2)]
    path = tmp_path_factory.mktemp('clips') / 'eight.txt'
    path.write_text('\n'.join(entries + entries[:2]) + '\n')
    return dict(video_dataset, train=str(path))


def _train(data, work_dir, batch_size, processes=1):
    options = ['--work-dir', str(work_dir), '--cfg-options',
               *data_options(data),
               f'train_dataloader.batch_size={batch_size}']
    if processes == 1:
        out = call_tool(['train.py', CONFIG, *options]).stdout
    else:
        os.environ['PORT'] = str(29700 + os.getpid() % 200)
        try:
            proc = run_tool(['dist_train.sh', CONFIG, str(processes),
                             *options], timeout=300)
        finally:
            del os.environ['PORT']
        out = proc.stdout + proc.stderr
    state = read_checkpoint(osp.join(work_dir, 'epoch_1.pth'))['state_dict']
    return state, out


def _max_difference(a, b):
    return max((a[k] - b[k]).abs().max().item() for k in a)


def test_the_same_clips_give_the_same_parameters(eight_clips, tmp_path):
    whole, log = _train(eight_clips, tmp_path / 'whole', batch_size=4)
    assert 'Optimiser steps on 4 clips (4 videos x 1 clips per process x ' \
        '1 processes x 1 accumulated)' in log
    one_by_one, log = _train(eight_clips, tmp_path / 'one', batch_size=1)
    assert 'accumulative_counts: (none) -> 4' in log
    assert 'Optimiser steps on 4 clips (1 videos x 1 clips per process x ' \
        '1 processes x 4 accumulated)' in log
    two, log = _train(eight_clips, tmp_path / 'two', batch_size=1,
                      processes=2)
    assert 'Optimiser steps on 4 clips (1 videos x 1 clips per process x ' \
        '2 processes x 2 accumulated)' in log
    assert set(whole) == set(one_by_one) == set(two)
    assert _max_difference(whole, one_by_one) < 1e-6
    assert _max_difference(whole, two) < 1e-6
    # The check can fail: the same clips stepped on one at a time (8 steps
    # of 1 clip) end elsewhere.
    plain = call_tool(['train.py', CONFIG, '--work-dir',
                       str(tmp_path / 'plain'), '--cfg-options',
                       *data_options(eight_clips),
                       'train_dataloader.batch_size=1',
                       'clips_per_step=None']).stdout
    assert 'Optimiser steps on 1 clips' in plain
    stepped = read_checkpoint(osp.join(tmp_path, 'plain',
                                       'epoch_1.pth'))['state_dict']
    assert _max_difference(whole, stepped) > 1e-3


def test_a_batch_that_cannot_reach_the_recipe_is_refused(eight_clips,
                                                         tmp_path):
    proc = call_tool(['train.py', CONFIG, '--work-dir', str(tmp_path),
                      '--cfg-options', *data_options(eight_clips),
                      'train_dataloader.batch_size=3'], check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        'error: clips_per_step=4 (the recipe\'s batch) cannot be reached '
        'exactly with 3 clips per iteration (3 per process x 1 processes): '
        'choose train_dataloader.batch_size so that batch_size x 1 divides '
        '4, or set clips_per_step=None to train on another batch')


def test_auto_scale_lr_counts_accumulation_and_repeats(tmp_path):
    """MMEngine's --auto-scale-lr scales by processes x batch only; without
    a fixed clips_per_step ours scales by the clips a step really takes."""
    from mmengine.config import Config

    from mmaction_aim.engine.resolve import RunRequest, resolve
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'ablations',
                                   'aim_vitb_k400_repeat2.py'))
    cfg.clips_per_step = None
    cfg.optim_wrapper.accumulative_counts = 2
    resolved, changes = resolve(cfg, RunRequest(
        mode='train', auto_scale_lr=True, world_size=2))
    # 4 videos x 2 clips x 2 processes x 2 accumulated = 32 of 64.
    assert resolved.optim_wrapper.optimizer.lr == pytest.approx(
        cfg.optim_wrapper.optimizer.lr / 2)
    assert resolved.auto_scale_lr.enable is False  # not MMEngine's too
    assert any('32 clips per step instead of 64' in str(c) for c in changes)
