"""End to end through the real command-line tools, on real video files:
in this process (``call_tool``), except where a process of its own is what
is tested (a run killed with SIGKILL, two processes under torchrun)."""
import glob
import os
import os.path as osp
import pickle
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import (REPO, TINY_CONFIG, call_tool, data_options, run_tool,
                      tool_env, val_records)

from mmaction_aim.analysis import build_model, load_config
from mmaction_aim.checkpoint import read_checkpoint as safe_load

PAUSE_CONFIG = osp.join(REPO, 'tests', 'configs', 'tiny_pause.py')
OTHER_CONFIG = osp.join(REPO, 'tests', 'configs', 'tiny_other_arch.py')
ITER_CONFIG = osp.join(REPO, 'tests', 'configs', 'tiny_iter.py')
ITER_PAUSE_CONFIG = osp.join(REPO, 'tests', 'configs', 'tiny_iter_pause.py')
CLOSE_WRITER_CONFIG = osp.join(REPO, 'tests', 'configs',
                               'tiny_close_writer.py')
# Checkpoint every 2 iterations; 3 iterations per epoch, 2 epochs.
ITER_CKPT = ['default_hooks.checkpoint.by_epoch=False',
             'default_hooks.checkpoint.interval=2']


def last_val_metrics(work_dir: str) -> dict:
    """The last validation metrics a run logged."""
    records = val_records(work_dir)
    metrics = records[-1] if records else {}
    return {k: v for k, v in metrics.items() if k.startswith('acc/')}


@pytest.fixture(scope='module')
def trained(video_dataset, tmp_path_factory) -> str:
    """Work dir of one uninterrupted tools/train.py run (iteration ckpts)."""
    work_dir = str(tmp_path_factory.mktemp('uninterrupted'))
    # --test-last: then the final model's test predictions, in-process.
    call_tool(['train.py', TINY_CONFIG, '--work-dir', work_dir, '--test-last',
              '--dump', osp.join(work_dir, 'test_last.pkl'),
              '--cfg-options', *data_options(video_dataset), *ITER_CKPT])
    return work_dir


def test_train_then_test(trained, video_dataset, tmp_path):
    assert osp.isfile(osp.join(trained, 'iter_6.pth'))
    ckpt = safe_load(osp.join(trained, 'iter_6.pth'))
    assert ckpt['meta']['iter'] == 6
    assert ckpt['meta']['epoch'] == 1  # 0-based epoch of an iteration ckpt
    assert any(k.startswith('backbone.') for k in ckpt['state_dict'])
    assert last_val_metrics(trained), 'training logged no validation'

    dump = str(tmp_path / 'preds.pkl')
    proc = call_tool(['test.py', TINY_CONFIG, osp.join(trained, 'iter_6.pth'),
                      '--work-dir', str(tmp_path / 'test'), '--dump', dump,
                      '--cfg-options', *data_options(video_dataset)])
    assert 'acc/top1' in proc.stdout + proc.stderr
    with open(dump, 'rb') as f:
        preds = pickle.load(f)  # our own file, written just now
    assert len(preds) == 3  # one per validation video
    # train.py --test-last gave exactly what test.py gives for the last
    # checkpoint.
    with open(osp.join(trained, 'test_last.pkl'), 'rb') as f:
        test_last = pickle.load(f)  # our own file
    assert [int(p['gt_label']) for p in test_last] == \
        [int(p['gt_label']) for p in preds]
    for a, b in zip(test_last, preds, strict=True):
        assert torch.equal(torch.as_tensor(a['pred_score']),
                           torch.as_tensor(b['pred_score']))


def test_several_view_protocols_in_one_test(trained, video_dataset,
                                           tmp_path):
    """tools/test.py --protocols: each protocol's own metrics from one
    pass, and the evaluated list's size and fingerprint in the log."""
    proc = call_tool(['test.py', TINY_CONFIG, osp.join(trained, 'iter_6.pth'),
                      '--work-dir', str(tmp_path / 'test'),
                      '--protocols', '2x1', '1x1',
                      '--cfg-options', *data_options(video_dataset)])
    out = proc.stdout + proc.stderr
    for name in ('2x1', '1x1'):
        assert f'acc/{name}_top1' in out
    assert re.search(r'val\.txt: 3 videos, list fingerprint [0-9a-f]{16} '
                     r'\(test mode\)', out)


def kill_after_iter_4_and_resume(pause_config: str, config: str,
                                 work_dir: str, options: list) -> str:
    """Train ``pause_config`` until it holds still after iteration 4,
    SIGKILL it, then ``--resume`` with ``config``. Returns the resume log."""
    proc = subprocess.Popen(
        [sys.executable, osp.join(REPO, 'tools', 'train.py'), pause_config,
         '--work-dir', work_dir, *options],
        cwd=REPO, env=tool_env(), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    marker = osp.join(work_dir, 'paused')
    deadline = time.time() + 240
    try:
        while not osp.exists(marker):
            assert proc.poll() is None, \
                f'training ended early: {proc.stderr.read()[-3000:]}'
            assert time.time() < deadline, 'training never reached iter 4'
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert osp.isfile(osp.join(work_dir, 'iter_4.pth'))
    assert not osp.exists(osp.join(work_dir, 'iter_6.pth'))
    out = call_tool(['train.py', config, '--work-dir', work_dir, '--resume',
                     *options])
    return out.stdout + out.stderr


def assert_same_final_state(work_dir: str, reference_dir: str) -> None:
    """Bitwise-equal weights and optimizer state, equal final metrics."""
    resumed = safe_load(osp.join(work_dir, 'iter_6.pth'))
    reference = safe_load(osp.join(reference_dir, 'iter_6.pth'))
    assert resumed['state_dict'].keys() == reference['state_dict'].keys()
    for key, value in reference['state_dict'].items():
        assert torch.equal(value, resumed['state_dict'][key]), key
    ref_opt = reference['optimizer']['state']
    res_opt = resumed['optimizer']['state']
    assert ref_opt.keys() == res_opt.keys()
    for idx in ref_opt:
        for name, value in ref_opt[idx].items():
            assert torch.equal(torch.as_tensor(value),
                               torch.as_tensor(res_opt[idx][name]))
    assert last_val_metrics(work_dir)
    assert last_val_metrics(work_dir) == last_val_metrics(reference_dir)


def test_kill_and_resume_matches_uninterrupted(trained, video_dataset,
                                               tmp_path):
    """Epoch-based: killed in the middle of epoch 2."""
    options = ['--cfg-options', *data_options(video_dataset), *ITER_CKPT]
    work_dir = str(tmp_path / 'killed')
    log = kill_after_iter_4_and_resume(PAUSE_CONFIG, TINY_CONFIG, work_dir,
                                       options)
    assert 'Resuming epoch 2 at batch 2 of 3' in log
    assert_same_final_state(work_dir, trained)


def test_kill_and_resume_iteration_based(video_dataset, tmp_path):
    options = ['--cfg-options', *data_options(video_dataset)]
    reference = str(tmp_path / 'uninterrupted')
    call_tool(['train.py', ITER_CONFIG, '--work-dir', reference, *options])
    work_dir = str(tmp_path / 'killed')
    kill_after_iter_4_and_resume(ITER_PAUSE_CONFIG, ITER_CONFIG, work_dir,
                                 options)
    assert_same_final_state(work_dir, reference)


def test_checkpoint_of_another_architecture_is_refused(trained,
                                                       video_dataset,
                                                       tmp_path):
    other = str(tmp_path / 'other.pth')
    torch.save(dict(state_dict=build_model(load_config(OTHER_CONFIG))
                    .state_dict(), meta=dict()), other)
    proc = call_tool(['test.py', TINY_CONFIG, other,
                      '--work-dir', str(tmp_path / 't'), '--cfg-options',
                      *data_options(video_dataset)], check=False)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert 'error: ' in proc.stderr and 'does not fit' in proc.stderr
    assert 'backbone.patch_embed.projection.weight' in proc.stderr
    assert 'backbone.image_model.conv1.weight' in proc.stderr

    # A classifier of another size: the shapes are named.
    proc = call_tool(['test.py', TINY_CONFIG, osp.join(trained, 'iter_6.pth'),
                      '--work-dir', str(tmp_path / 't2'), '--cfg-options',
                      *data_options(video_dataset),
                      'model.cls_head.num_classes=5'], check=False)
    assert proc.returncode != 0
    assert 'cls_head.fc_cls.weight: checkpoint [3, 32] vs model [5, 32]' \
        in proc.stderr


def _test_scores(config, checkpoint, video_dataset, work_dir, *options):
    """Per-video class scores of a tools/test.py run (through --dump)."""
    dump = osp.join(work_dir, 'preds.pkl')
    call_tool(['test.py', config, checkpoint, '--work-dir', work_dir,
               '--dump', dump, '--cfg-options', *data_options(video_dataset),
               *options])
    with open(dump, 'rb') as f:
        preds = pickle.load(f)  # our own file, written just now
    return torch.stack([torch.as_tensor(p['pred_score']) for p in preds])


def test_checkpoints_the_model_adapts_are_accepted(trained, video_dataset,
                                                   tmp_path):
    """What AIM itself adapts on load passes the fit check: a 4-frame
    checkpoint tested at 8 frames (temporal embedding interpolated), and a
    adapter-only checkpoint merged onto its image model (the explicit path
    its meta asks for)."""
    full = osp.join(trained, 'iter_6.pth')
    proc = call_tool(['test.py', TINY_CONFIG, full, '--work-dir',
                      str(tmp_path / 'f8'), '--cfg-options',
                      *data_options(video_dataset),
                      'model.backbone.num_frames=8',
                      'test_dataloader.dataset.pipeline.1.clip_len=8'])
    assert 'acc/top1' in proc.stdout + proc.stderr

    state = safe_load(full)['state_dict']
    image_model = str(tmp_path / 'image_model.pth')
    prefix = 'backbone.image_model.'
    torch.save({k[len(prefix):]: v for k, v in state.items()
                if k.startswith(prefix) and 'adapter' not in k},
               image_model)
    trainable = {k: v for k, v in state.items()
                 if 'adapter' in k or k.startswith(
                     ('cls_head.', prefix + 'ln_post.',
                      'backbone.temporal_embedding'))}
    small = str(tmp_path / 'trainable.pth')
    torch.save(dict(state_dict=trainable, meta=dict(adapter_only=True)),
               small)
    pretrained = f'model.backbone.pretrained={image_model}'
    torch.testing.assert_close(
        _test_scores(TINY_CONFIG, small, video_dataset,
                     str(tmp_path / 'small'), pretrained),
        _test_scores(TINY_CONFIG, full, video_dataset,
                     str(tmp_path / 'full'), pretrained))


def test_dist_train_and_test_two_cpu_processes(video_dataset, tmp_path):
    """Two CPU processes under gloo train and test; the visualizer is
    closed (its backends flush) before the processes leave."""
    work_dir = str(tmp_path / 'dist')
    env_port = str(29500 + os.getpid() % 1000)
    os.environ['PORT'] = env_port
    try:
        proc = run_tool(['dist_train.sh', CLOSE_WRITER_CONFIG, '2',
                         '--work-dir', work_dir, '--cfg-options',
                         *data_options(video_dataset),
                         'train_cfg.max_epochs=1'], timeout=300)
    finally:
        del os.environ['PORT']
    log = proc.stdout + proc.stderr
    assert 'Distributed training: True' in log
    assert sorted(os.listdir(work_dir)).count('epoch_1.pth') == 1
    closed = glob.glob(osp.join(work_dir, '*', 'vis_data', 'closed.txt'))
    assert len(closed) == 1, os.listdir(work_dir)
    with open(closed[0]) as f:
        assert f.read().endswith('scalar records\n')
    ckpt = safe_load(osp.join(work_dir, 'epoch_1.pth'))
    # 6 videos over 2 ranks x batch 2: 2 iterations per epoch.
    assert ckpt['meta']['iter'] == 2

    os.environ['PORT'] = str(int(env_port) + 1)
    try:
        proc = run_tool(['dist_test.sh', TINY_CONFIG,
                         osp.join(work_dir, 'epoch_1.pth'), '2',
                         '--work-dir', str(tmp_path / 'dist_test'),
                         '--cfg-options', *data_options(video_dataset)],
                        timeout=300)
    finally:
        del os.environ['PORT']
    assert 'acc/top1' in proc.stdout + proc.stderr
