"""tools/train.py and tools/test.py command lines, without training."""
import importlib.util
import logging
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO, TINY_CONFIG, captured_log_records

ITER_CONFIG = osp.join(REPO, 'tests', 'configs', 'tiny_iter.py')
DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'aim_tiny_synthetic.py')


def load_tool(name: str):
    spec = importlib.util.spec_from_file_location(
        f'aim_tool_{name}', osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def train_tool():
    return load_tool('train')


@pytest.fixture(scope='module')
def test_tool():
    return load_tool('test')


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


def test_amp_on_cpu_falls_back_to_float32_with_a_warning(train_tool):
    import torch
    if torch.cuda.is_available():
        pytest.skip('CPU-only behaviour')
    cfg, records = merged_and_logged(train_tool, [TINY_CONFIG, '--amp'])
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert 'loss_scale' not in cfg.optim_wrapper
    lines = [r.getMessage() for r in records
             if 'AmpOptimWrapper -> OptimWrapper' in r.getMessage()]
    assert len(lines) == 1 and 'float32' in lines[0]
    assert '\n' not in lines[0]


def test_tool_changes_to_a_config_are_logged_one_line_each(train_tool):
    """The config names its loop; where it names MMEngine's, the tool says
    it swapped it, and why."""
    cfg, records = merged_and_logged(train_tool, [TINY_CONFIG])
    assert cfg.train_cfg.type == 'AIMEpochBasedTrainLoop'
    assert not [r for r in records if 'train_cfg.type' in r.getMessage()]
    cfg, records = merged_and_logged(train_tool, [ITER_CONFIG])
    assert cfg.train_cfg.type == 'AIMIterBasedTrainLoop'
    lines = [r.getMessage() for r in records
             if 'train_cfg.type' in r.getMessage()]
    assert len(lines) == 1
    assert 'IterBasedTrainLoop -> AIMIterBasedTrainLoop' in lines[0]
    assert 'resume' in lines[0]


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
    # Epoch-based training resumes mid-epoch with our loop.
    assert cfg.train_cfg.type == 'AIMEpochBasedTrainLoop'
    assert cfg.env_cfg.dist_cfg.backend in ('gloo', 'nccl')

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


def test_mmengine_loops_swapped_for_resumable_ones():
    from mmaction_aim.engine.runner_setup import use_resumable_loop
    cases = [
        (dict(type='EpochBasedTrainLoop', max_epochs=2),
         dict(type='AIMEpochBasedTrainLoop', max_epochs=2)),
        (dict(by_epoch=True, max_epochs=2),
         dict(type='AIMEpochBasedTrainLoop', max_epochs=2)),
        (dict(by_epoch=False, max_iters=5),
         dict(type='AIMIterBasedTrainLoop', max_iters=5)),
        (dict(type='MyLoop', max_iters=5), dict(type='MyLoop', max_iters=5)),
    ]
    for given, expected in cases:
        cfg = Config(dict(train_cfg=given))
        assert use_resumable_loop(cfg).train_cfg.to_dict() == expected


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
