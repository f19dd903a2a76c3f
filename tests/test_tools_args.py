"""tools/train.py and tools/test.py command lines, without training."""
import logging
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import (REPO, TINY_CONFIG, call_tool, captured_log_records,
                      data_options, tool_module)

ITER_CONFIG = osp.join(REPO, 'tests', 'configs', 'tiny_iter.py')
DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'aim_tiny_synthetic.py')


@pytest.fixture(scope='module')
def train_tool():
    return tool_module('train.py')


@pytest.fixture(scope='module')
def test_tool():
    return tool_module('test.py')


def merged(tool, argv):
    args = tool.parse_args(argv)
    return tool.merge_args(Config.fromfile(args.config), args)


def merged_and_logged(tool, argv):
    """The merged config, and the records the tool logs about what it
    changed (once its runner exists: report_config_changes)."""
    from mmaction_aim.engine.runner_setup import report_config_changes
    with captured_log_records() as records:
        cfg = merged(tool, argv)
        report_config_changes()
    return cfg, records


@pytest.fixture
def runner(video_dataset, tmp_path, train_tool):
    """An AIMRunner of the tiny config (nothing built beyond the model)."""
    from mmaction.registry import RUNNERS
    cfg = merged(train_tool, [TINY_CONFIG, '--work-dir', str(tmp_path),
                              '--cfg-options',
                              *data_options(video_dataset)])
    return RUNNERS.build(cfg)


def _changed(records, text):
    return [r.getMessage() for r in records
            if r.getMessage().startswith('Config changed by the runner: ')
            and text in r.getMessage()]


def test_amp_on_cpu_falls_back_to_float32_with_a_warning(runner):
    import torch
    if torch.cuda.is_available():
        pytest.skip('CPU-only behaviour')
    amp = dict(type='AmpOptimWrapper', loss_scale='dynamic',
               optimizer=dict(type='AdamW', lr=1e-3))
    with captured_log_records() as records:
        wrapper = runner.build_optim_wrapper(amp)
    assert type(wrapper).__name__ == 'OptimWrapper'
    lines = _changed(records, 'AmpOptimWrapper -> OptimWrapper')
    assert len(lines) == 1 and 'float32' in lines[0]
    assert '\n' not in lines[0]


def test_testing_says_nothing_about_training(video_dataset, tmp_path):
    """tools/test.py on an AMP config: no optimizer is built, so nothing is
    said about training precision (before 0.2: "training runs in
    float32")."""
    import torch

    from mmaction_aim.analysis import build_model
    checkpoint = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict=build_model(Config.fromfile(TINY_CONFIG))
                    .state_dict()), checkpoint)
    proc = call_tool(['test.py', TINY_CONFIG, checkpoint, '--work-dir',
                      str(tmp_path), '--cfg-options',
                      *data_options(video_dataset),
                      'optim_wrapper.type=AmpOptimWrapper'])
    assert 'float32' not in proc.stdout
    assert 'AmpOptimWrapper ->' not in proc.stdout
    assert 'acc/top1' in proc.stdout


def test_mmengine_loops_swapped_for_resumable_ones(runner):
    """A config naming MMEngine's loops gets ours, said in one line."""
    base = dict(runner.cfg.train_cfg)
    base.pop('type')
    for given, expected in (
            (dict(base, type='EpochBasedTrainLoop'),
             'AIMEpochBasedTrainLoop'),
            (dict(base, by_epoch=True), 'AIMEpochBasedTrainLoop'),
            (dict(type='IterBasedTrainLoop', max_iters=5),
             'AIMIterBasedTrainLoop')):
        with captured_log_records() as records:
            loop = runner.build_train_loop(given)
        assert type(loop).__name__ == expected
        lines = _changed(records, 'train_cfg.type')
        assert len(lines) == 1 and 'resume' in lines[0]
    with captured_log_records() as records:
        runner.build_train_loop(dict(base, type='AIMEpochBasedTrainLoop'))
    assert not _changed(records, 'train_cfg.type')


def test_persistent_workers_without_workers_are_switched_off(runner):
    """MMEngine / PyTorch refuse persistent_workers with num_workers=0 (a
    traceback before 0.2)."""
    loader_cfg = dict(runner.cfg.val_dataloader, num_workers=0,
                      persistent_workers=True)
    with captured_log_records() as records:
        loader = runner.build_dataloader(loader_cfg)
    assert loader.persistent_workers is False
    assert len(_changed(records, 'persistent_workers')) == 1


def test_randomness_flags_win_over_the_config(train_tool):
    """The demo's and the tiny config's `randomness` no longer swallow
    --deterministic, --diff-rank-seed and --seed."""
    cfg = Config.fromfile(DEMO_CONFIG)
    assert cfg.randomness.deterministic is False
    cfg, records = merged_and_logged(train_tool, [
        DEMO_CONFIG, '--deterministic', '--diff-rank-seed', '--seed', '5'])
    assert cfg.randomness.deterministic is True
    assert cfg.randomness.diff_rank_seed is True
    assert cfg.randomness.seed == 5
    changed = [r.getMessage() for r in records
               if r.getMessage().startswith('Config changed by the tool: '
                                            'randomness.')]
    assert len(changed) == 3
    assert any('deterministic: False -> True' in m for m in changed)
    cfg, records = merged_and_logged(train_tool, [TINY_CONFIG])
    assert cfg.randomness.to_dict() == dict(seed=0, deterministic=True)
    assert not [r for r in records if 'randomness' in r.getMessage()]


def test_train_flags(train_tool):
    cfg = merged(train_tool, [
        TINY_CONFIG, '--work-dir', '/tmp/x', '--resume', '--no-validate',
        '--launcher', 'pytorch', '--cfg-options', 'train_cfg.max_epochs=7'])
    assert cfg.work_dir == '/tmp/x'
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    assert cfg.launcher == 'pytorch'
    assert cfg.train_cfg.max_epochs == 7
    # --no-validate after the options that set val_* (a traceback before
    # 0.2: the options were merged into the removed val_dataloader).
    cfg = merged(train_tool, [
        TINY_CONFIG, '--no-validate', '--cfg-options',
        'val_dataloader.batch_size=4', 'val_cfg.type=ValLoop'])
    assert cfg.val_dataloader is None and cfg.val_cfg is None

    cfg = merged(train_tool, [TINY_CONFIG, '--resume', 'a.pth'])
    assert cfg.resume is True and cfg.load_from == 'a.pth'
    cfg = merged(train_tool, [TINY_CONFIG])
    assert cfg.work_dir == osp.join('work_dirs', 'tiny_recognizer')


def test_test_last_flags(train_tool):
    """--test-last (with --dump) tests the final model in the training
    process; it is refused before training where it cannot run."""
    cfg = merged(train_tool, [TINY_CONFIG, '--test-last', '--dump',
                              'out.pkl'])
    assert cfg.test_evaluator[-1] == dict(type='DumpResults',
                                          out_file_path='out.pkl')
    assert merged(train_tool, [TINY_CONFIG]).test_evaluator == \
        merged(train_tool, [TINY_CONFIG, '--test-last']).test_evaluator
    with pytest.raises(ValueError, match='--dump dumps the predictions of '
                       '--test-last'):
        merged(train_tool, [TINY_CONFIG, '--dump', 'out.pkl'])
    with pytest.raises(ValueError, match='--test-last needs test_dataloader'):
        merged(train_tool, [TINY_CONFIG, '--test-last', '--cfg-options',
                            'test_dataloader=None'])
    with pytest.raises(ValueError, match='.pkl'):
        merged(train_tool, [TINY_CONFIG, '--test-last', '--dump', 'o.json'])


def test_test_flags(test_tool):
    cfg = merged(test_tool, [TINY_CONFIG, 'ckpt.pth', '--dump', 'out.pkl',
                             '--work-dir', '/tmp/y'])
    assert cfg.load_from == 'ckpt.pth' and cfg.work_dir == '/tmp/y'
    assert cfg.test_evaluator[-1] == dict(type='DumpResults',
                                          out_file_path='out.pkl')
    with pytest.raises(ValueError, match='.pkl'):
        merged(test_tool, [TINY_CONFIG, 'ckpt.pth', '--dump', 'out.json'])


def test_iteration_seeds_depend_only_on_seed_and_iteration():
    """Same iteration number, same random state before its batch."""
    import numpy as np
    import torch

    from mmaction_aim.engine.loops import iteration_seed, seed_everything
    seed_everything(iteration_seed(0, 7))
    first = np.random.rand(), torch.rand(1).item()
    np.random.rand(5)
    seed_everything(iteration_seed(0, 7))
    assert (np.random.rand(), torch.rand(1).item()) == first
    assert iteration_seed(0, 7) != iteration_seed(0, 8)
    assert iteration_seed(0, 7) != iteration_seed(1, 7)


def test_top_level_variable_override_warns(test_tool):
    """``data_root=...`` changes that variable only; say so, name the keys."""
    cfg, records = merged_and_logged(test_tool, [
        TINY_CONFIG, 'ckpt.pth', '--cfg-options', 'data_root=/elsewhere',
        'test_dataloader.dataset.ann_file=/elsewhere/val.txt'])
    assert cfg.data_root == '/elsewhere'
    assert cfg.test_dataloader.dataset.ann_file == '/elsewhere/val.txt'
    warnings = [r.getMessage() for r in records
                if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert 'data_root' in warnings[0] and \
        'train_dataloader.dataset.ann_file' in warnings[0]


def test_erasing_fills_with_the_models_mean(runner):
    """``ClipRandomErasing(fill='mean')`` becomes the data preprocessor's
    mean, said in one line; the transform alone refuses the word."""
    from mmaction_aim.datasets.transforms import ClipRandomErasing
    loader = dict(runner.cfg.train_dataloader)
    loader['dataset'] = dict(loader['dataset'], pipeline=[
        dict(type='ClipRandomErasing', erase_prob=0.25, fill='mean')])
    with captured_log_records() as records:
        resolved = runner._fill_with_the_model_mean(loader)
    fill = resolved['dataset']['pipeline'][0]['fill']
    mean = runner.model.data_preprocessor.mean.flatten().tolist()
    assert fill == pytest.approx(mean, abs=1e-4)
    assert len(_changed(records, "fill: 'mean'")) == 1
    with pytest.raises(ValueError, match='AIMRunner'):
        ClipRandomErasing(fill='mean')


def test_protocol_options_widen_validation_and_testing(train_tool,
                                                       test_tool):
    """--val-protocols / --test-protocols (train.py) and --protocols
    (test.py): the split's pipeline samples every protocol's clips, its
    metric reports each; the other split and --dump stay as they were."""
    cfg, records = merged_and_logged(train_tool, [
        TINY_CONFIG, '--val-protocols', '2x1', '1x1', '--test-last',
        '--test-protocols', '1x1', '--dump', 'x.pkl'])
    sampler = cfg.val_dataloader.dataset.pipeline[1]
    assert sampler.type == 'MultiProtocolSampleFrames'
    assert sampler.protocols == ['2x1', '1x1']
    assert cfg.val_evaluator.type == 'ViewProtocolAccMetric'
    assert cfg.test_dataloader.dataset.pipeline[1].protocols == ['1x1']
    lines = [r.getMessage() for r in records
             if 'protocols' in r.getMessage()]
    assert len(lines) == 4 and any('--val-protocols' in x for x in lines)
    cfg = merged(test_tool, [TINY_CONFIG, 'ckpt.pth', '--protocols', '3x1',
                             '--dump', 'x.pkl'])
    evaluators = [e.type for e in cfg.test_evaluator]
    assert evaluators == ['ViewProtocolAccMetric', 'DumpResults']
    assert cfg.val_dataloader.dataset.pipeline[1].type == 'SampleFrames'
    with pytest.raises(ValueError, match='--no-validate'):
        merged(train_tool, [TINY_CONFIG, '--no-validate', '--val-protocols',
                            '1x1'])
