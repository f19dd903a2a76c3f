"""tools/train.py and tools/test.py command lines, without training: the
run they resolve (:func:`mmaction_aim.engine.resolve.resolve`)."""
import logging
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import (REPO, TINY_CONFIG, call_tool, data_options, tool_module)
from mmaction_aim.engine.resolve import resolve
from mmaction_aim.utils import read_config

ITER_CONFIG = osp.join(REPO, 'tests', 'configs', 'tiny_iter.py')
DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'aim_tiny_synthetic.py')


@pytest.fixture(scope='module')
def train_tool():
    return tool_module('train.py')


@pytest.fixture(scope='module')
def test_tool():
    return tool_module('test.py')


def resolved(tool, argv, accelerator=False):
    """The config a tool's command line runs, and what changed."""
    args = tool.parse_args(argv)
    return resolve(read_config(args.config), tool.request_of(args),
                   accelerator=accelerator)


def merged(tool, argv):
    return resolved(tool, argv)[0]


def _changed(changes, text):
    return [str(c) for c in changes if text in str(c)]


def test_amp_on_cpu_falls_back_to_float32_with_a_warning(train_tool):
    cfg, changes = resolved(train_tool, [TINY_CONFIG, '--amp'])
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert 'loss_scale' not in cfg.optim_wrapper
    lines = [c for c in changes if c.field == 'optim_wrapper.type' and
             c.after == 'OptimWrapper']
    assert len(lines) == 1 and 'float32' in str(lines[0])
    assert lines[0].level == logging.WARNING and '\n' not in str(lines[0])
    cfg, changes = resolved(train_tool, [TINY_CONFIG, '--amp'],
                            accelerator=True)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert not _changed(changes, 'float32')


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


def test_mmengine_loops_swapped_for_resumable_ones(train_tool):
    """A config naming MMEngine's loops gets ours, said in one line."""
    base = dict(Config.fromfile(TINY_CONFIG).train_cfg)
    base.pop('type')
    for given, expected in (
            (dict(base, type='EpochBasedTrainLoop'),
             'AIMEpochBasedTrainLoop'),
            (dict(base, by_epoch=True), 'AIMEpochBasedTrainLoop'),
            (dict(type='IterBasedTrainLoop', max_iters=5),
             'AIMIterBasedTrainLoop')):
        cfg = Config.fromfile(TINY_CONFIG)
        cfg.train_cfg = given
        cfg, changes = resolve(cfg, accelerator=False)
        assert cfg.train_cfg.type == expected
        lines = _changed(changes, 'train_cfg.type')
        assert len(lines) == 1 and 'resume' in lines[0]
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.train_cfg = dict(base, type='AIMEpochBasedTrainLoop')
    assert not _changed(resolve(cfg)[1], 'train_cfg.type')


def test_persistent_workers_without_workers_are_switched_off(train_tool):
    """MMEngine / PyTorch refuse persistent_workers with num_workers=0 (a
    traceback before 0.2)."""
    cfg, changes = resolved(train_tool, [
        TINY_CONFIG, '--cfg-options', 'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=True'])
    assert cfg.val_dataloader.persistent_workers is False
    assert len(_changed(changes, 'refuses persistent workers')) == 1


def test_randomness_flags_win_over_the_config(train_tool):
    """The demo's and the tiny config's `randomness` no longer swallow
    --deterministic, --diff-rank-seed and --seed."""
    cfg = Config.fromfile(DEMO_CONFIG)
    assert cfg.randomness.deterministic is False
    cfg, changes = resolved(train_tool, [
        DEMO_CONFIG, '--deterministic', '--diff-rank-seed', '--seed', '5'])
    assert cfg.randomness.deterministic is True
    assert cfg.randomness.diff_rank_seed is True
    assert cfg.randomness.seed == 5
    changed = _changed(changes, 'randomness.')
    assert len(changed) == 3
    assert any('deterministic: False -> True' in m for m in changed)
    cfg, changes = resolved(train_tool, [TINY_CONFIG])
    assert cfg.randomness.to_dict() == dict(seed=0, deterministic=True)
    assert not _changed(changes, 'randomness')


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
    cfg, changes = resolved(test_tool, [
        TINY_CONFIG, 'ckpt.pth', '--cfg-options', 'data_root=/elsewhere',
        'test_dataloader.dataset.ann_file=/elsewhere/val.txt'])
    assert cfg.data_root == '/elsewhere'
    assert cfg.test_dataloader.dataset.ann_file == '/elsewhere/val.txt'
    warnings = [str(c) for c in changes if c.level == logging.WARNING]
    assert len(warnings) == 1
    assert 'data_root' in warnings[0] and \
        'train_dataloader.dataset.ann_file' in warnings[0]


def test_erasing_fills_with_the_models_mean(train_tool):
    """``ClipRandomErasing(fill='mean')`` becomes the model's normalisation
    mean, from the config alone (no model built), said in one line; the
    transform alone refuses the word."""
    from mmaction_aim.analysis import build_model
    from mmaction_aim.datasets.transforms import ClipRandomErasing
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.train_dataloader.dataset.pipeline = [
        dict(type='ClipRandomErasing', erase_prob=0.25, fill='mean')]
    cfg, changes = resolve(cfg)
    fill = cfg.train_dataloader.dataset.pipeline[0]['fill']
    mean = build_model(cfg).data_preprocessor.mean.flatten().tolist()
    assert fill == pytest.approx(mean, abs=1e-4)
    assert len(_changed(changes, 'ClipRandomErasing.fill')) == 1
    assert not resolve(cfg)[1]
    with pytest.raises(ValueError, match='resolved'):
        ClipRandomErasing(fill='mean')


def test_protocol_options_widen_validation_and_testing(train_tool,
                                                       test_tool):
    """--val-protocols / --test-protocols (train.py) and --protocols
    (test.py): the split's pipeline samples every protocol's clips, its
    metric reports each; the other split and --dump stay as they were."""
    cfg, changes = resolved(train_tool, [
        TINY_CONFIG, '--val-protocols', '2x1', '1x1', '--test-last',
        '--test-protocols', '1x1', '--dump', 'x.pkl'])
    sampler = cfg.val_dataloader.dataset.pipeline[1]
    assert sampler.type == 'MultiProtocolSampleFrames'
    assert sampler.protocols == ['2x1', '1x1']
    assert cfg.val_evaluator.type == 'ViewProtocolAccMetric'
    assert cfg.test_dataloader.dataset.pipeline[1].protocols == ['1x1']
    lines = _changed(changes, 'protocols')
    assert len(lines) == 6 and any('--val-protocols' in x for x in lines)
    cfg = merged(test_tool, [TINY_CONFIG, 'ckpt.pth', '--protocols', '3x1',
                             '--dump', 'x.pkl'])
    evaluators = [e.type for e in cfg.test_evaluator]
    assert evaluators == ['ViewProtocolAccMetric', 'DumpResults']
    assert cfg.val_dataloader.dataset.pipeline[1].type == 'SampleFrames'
    with pytest.raises(ValueError, match='--no-validate'):
        merged(train_tool, [TINY_CONFIG, '--no-validate', '--val-protocols',
                            '1x1'])


def test_testing_drops_checkpoint_ignore_keys(test_tool, train_tool):
    """``checkpoint_ignore_keys`` (a fine-tuning run's new classifier) is
    for training's ``load_from``: a tested checkpoint must fit the model,
    so the test resolution drops the keys and says so."""
    options = ['--cfg-options', "checkpoint_ignore_keys=['^cls_head\\.']"]
    cfg, changes = resolved(test_tool, [TINY_CONFIG, 'c.pth', *options])
    assert not cfg.checkpoint_ignore_keys
    assert len(_changed(changes, 'a tested checkpoint must fit')) == 1
    cfg, _ = resolved(train_tool, [TINY_CONFIG, *options])
    assert cfg.checkpoint_ignore_keys == ['^cls_head\\.']


def test_test_refuses_a_checkpoint_of_another_head(video_dataset, tmp_path):
    """The silent failure this replaces: testing a 3-way checkpoint with a
    5-way config whose ``checkpoint_ignore_keys`` exempt the head printed
    metrics of the head at its initialisation (exit status 0)."""
    import torch

    from mmaction_aim.analysis import build_model
    checkpoint = str(tmp_path / 'three_way.pth')
    torch.save(dict(state_dict=build_model(Config.fromfile(TINY_CONFIG))
                    .state_dict()), checkpoint)
    proc = call_tool(['test.py', TINY_CONFIG, checkpoint, '--work-dir',
                      str(tmp_path), '--cfg-options',
                      *data_options(video_dataset),
                      'model.cls_head.num_classes=5',
                      "checkpoint_ignore_keys=['^cls_head\\.']"],
                     check=False)
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert 'acc/top1' not in proc.stdout
    assert proc.stderr.startswith('error: ') and 'cls_head' in proc.stderr


def test_runner_applies_ignore_keys_only_while_training(
        video_dataset, tmp_path):
    """The runner's own guard, for a config no tool resolved (MMAction2's
    tools): the exemption applies to ``load_from`` inside ``train()``
    only."""
    import torch

    from mmaction.registry import RUNNERS
    from mmaction_aim.analysis import build_model
    from mmaction_aim.checkpoint import CheckpointMismatchError
    checkpoint = str(tmp_path / 'three_way.pth')
    torch.save(dict(state_dict=build_model(Config.fromfile(TINY_CONFIG))
                    .state_dict()), checkpoint)
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.merge_from_dict(dict(
        (o.split('=', 1) for o in data_options(video_dataset)),
        work_dir=str(tmp_path), load_from=checkpoint,
        checkpoint_ignore_keys=['^cls_head\\.'],
        experiment_name='ignore_keys_guard'))
    cfg.model.cls_head.num_classes = 5
    runner = RUNNERS.build(cfg)
    with pytest.raises(CheckpointMismatchError, match='cls_head'):
        runner.test()


def test_resolving_a_resolved_config_changes_nothing(train_tool, test_tool):
    """One resolution: the runner resolves again what a tool resolved, and
    finds nothing to change."""
    for tool, argv in (
            (train_tool, [DEMO_CONFIG, '--amp', '--seed', '3',
                          '--val-protocols', '1x1', '--test-last']),
            (test_tool, [DEMO_CONFIG, 'c.pth', '--protocols', '1x1', '2x1']),
            (train_tool, [osp.join(REPO, 'configs', 'ablations',
                                   'aim_vitb_k400_repeat2.py')]),
            (train_tool, [osp.join(REPO, 'configs', 'aim_vitb_ssv2.py')])):
        cfg, changes = resolved(tool, argv)
        assert changes
        again, more = resolve(cfg, accelerator=False)
        assert more == [], [str(c) for c in more]
        assert again.to_dict() == cfg.to_dict()


def test_repeated_sampling_needs_no_collate_option(train_tool):
    """``num_repeats > 1`` gets the collate function that flattens its
    clips (before: the docs asked users for a --cfg-options value that
    was a TypeError); another collate function is refused."""
    repeat2 = osp.join(REPO, 'configs', 'ablations',
                       'aim_vitb_k400_repeat2.py')
    cfg, changes = resolved(train_tool, [repeat2])
    assert cfg.train_dataloader.collate_fn == dict(
        type='repeat_pseudo_collate')
    assert len(_changed(changes, 'repeated sampling')) == 1
    with pytest.raises(ValueError, match='repeat_pseudo_collate'):
        resolved(train_tool, [
            repeat2, '--cfg-options',
            'train_dataloader.collate_fn.type=default_collate'])


@pytest.mark.parametrize('argv, says', [
    (['--cfg-options', 'model.backbone'], 'is not key=value'),
    (['--cfg-options', '=3'], 'is not key=value'),
    (['--val-protocols', '0x1'], 'view protocol'),
    (['--val-protocols', '3x'], 'view protocol'),
])
def test_bad_options_are_one_line(train_tool, capsys, argv, says):
    with pytest.raises(SystemExit) as exc:
        train_tool.parse_args([TINY_CONFIG, *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert says in err[-1] and 'Traceback' not in '\n'.join(err)


def test_bad_config_paths_are_one_line(tmp_path):
    text = tmp_path / 'config.txt'
    text.write_text('x = 1\n')
    for path, says in ((str(text), 'is not a config file'),
                       (str(tmp_path), 'is a directory'),
                       (str(tmp_path / 'none.py'), 'does not exist')):
        proc = call_tool(['train.py', path], check=False)
        assert proc.returncode == 1
        line = proc.stderr.strip().splitlines()
        assert len(line) == 1 and says in line[0], proc.stderr


def test_dump_under_a_file_is_one_line(test_tool, tmp_path):
    afile = tmp_path / 'a_file'
    afile.write_text('')
    with pytest.raises(ValueError, match='is a file, not a directory'):
        resolved(test_tool, [TINY_CONFIG, 'c.pth', '--dump',
                             str(afile / 'out.pkl')])


def test_print_config_shows_the_run_the_tools_resolve():
    """tools/print_config.py prints the config tools/test.py runs (here
    without the fine-tuning exemption) and each change once."""
    hmdb = osp.join(REPO, 'configs', 'aim_vitb_k400-pre_hmdb51.py')
    out = call_tool(['print_config.py', hmdb, '--mode', 'test',
                     '--machine', 'cpu']).stdout
    assert 'checkpoint_ignore_keys = None' in out
    assert out.count('# checkpoint_ignore_keys:') == 1
    repeat2 = osp.join(REPO, 'configs', 'ablations',
                       'aim_vitb_k400_repeat2.py')
    out = call_tool(['print_config.py', repeat2, '--world-size', '2',
                     '--machine', 'gpu']).stdout
    assert "type='repeat_pseudo_collate'" in out
    assert '8 clips per process x 2 processes x 4 accumulated = 64 clips ' \
        'per optimiser step' in out
    assert 'float32' not in out
    bad = call_tool(['print_config.py', repeat2, '--world-size', '0'],
                    check=False)
    assert bad.returncode == 2 and 'an integer >= 1' in bad.stderr


def test_an_empty_list_is_one_line(video_dataset, tmp_path):
    """Before: MMEngine's 'need at least one array to concatenate'."""
    empty = tmp_path / 'empty.txt'
    empty.write_text('\n')
    checkpoint = tmp_path / 'c.pth'
    checkpoint.write_bytes(b'')
    proc = call_tool(['test.py', TINY_CONFIG, str(checkpoint), '--work-dir',
                      str(tmp_path), '--cfg-options',
                      *data_options(video_dataset),
                      f'test_dataloader.dataset.ann_file={empty}'],
                     check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f'error: {empty} lists no videos: a run ' \
        'on it would train or score nothing'


def test_a_comma_delimiter_on_the_command_line(train_tool, capsys):
    """``delimiter=,`` was MMEngine's list [''] and a traceback; quoted, a
    comma is a string; unquoted, one line saying so."""
    cfg, _ = resolved(train_tool, [
        TINY_CONFIG, '--cfg-options',
        "train_dataloader.dataset.delimiter=','"])
    assert cfg.train_dataloader.dataset.delimiter == ','
    with pytest.raises(SystemExit) as exc:
        train_tool.parse_args([TINY_CONFIG, '--cfg-options',
                               'train_dataloader.dataset.delimiter=,'])
    assert exc.value.code == 2
    assert 'give a comma as a string in quotes' in capsys.readouterr().err
    from mmaction_aim.datasets import VideoListError, read_video_list
    with pytest.raises(VideoListError, match='delimiter must be a '
                       'non-empty string'):
        read_video_list(TINY_CONFIG, delimiter=[''])


def test_print_config_recipe_rows():
    """--recipe: the run's recipe in the rows of docs/reproduction.md, the
    optimiser's groups read back from the model built on meta."""
    vitl = osp.join(REPO, 'configs', 'aim_vitl_k400_32f.py')
    out = call_tool(['print_config.py', vitl, '--recipe', '--world-size',
                     '2', '--machine', 'gpu']).stdout
    rows = dict(line.strip('|').split(' | ', 1)
                for line in out.strip().splitlines()[2:])
    rows = {k.strip(): v.strip() for k, v in rows.items()}
    assert rows['clips per optimiser step'] == (
        '64 (8 videos x 1 clips per process x 2 processes x 4 accumulated)')
    assert rows['group: lr 0.0003, weight decay 0.05'] == 'cls_head (410,000)'
    assert rows['group: lr 3e-05, weight decay 0.05'].startswith('adapters')
    assert rows['what trains'] == '38,285,712 of 341,463,440 parameters'
    assert rows['train sampling'] == 'SampleFrames(32 frames x 4, 1 clip(s))'
    assert rows['test views'].startswith(
        'CentredSampleFrames(32 frames x 4, 3 clip(s)) x 1 crop(s)')
    assert 'PCALighting' in rows['train transforms']
    assert rows['drop-path'].startswith('rate 0.2')
    assert rows['optimiser'].endswith('precision float16')
    bad = call_tool(['print_config.py', vitl, '--recipe', '--mode', 'test'],
                    check=False)
    assert bad.returncode == 1 and '--recipe describes training' in \
        bad.stderr


@pytest.mark.parametrize('options,says', [
    (['train_dataloader.batch_size=0'],
     'train_dataloader.batch_size must be an integer >= 1, got 0'),
    (['val_dataloader.num_workers=-1'],
     'val_dataloader.num_workers must be an integer >= 0, got -1'),
    (['train_dataloader.datset.ann_file=/x'],
     'train_dataloader.datset is not an argument of a dataloader (did you '
     'mean train_dataloader.dataset?)'),
    (['train_cfg.max_epochs=0'],
     'train_cfg.max_epochs must be an integer >= 1, got 0'),
])
def test_values_that_failed_deep_inside_are_one_sentence(train_tool,
                                                         options, says):
    """Before: tracebacks from PyTorch's DataLoader and MMEngine's
    schedulers."""
    from mmaction_aim.utils import BadInputError
    with pytest.raises(BadInputError) as info:
        resolved(train_tool, [TINY_CONFIG, '--cfg-options', *options])
    assert str(info.value) == says


def test_more_bad_command_lines(train_tool, test_tool, tmp_path, capsys):
    from mmaction_aim.utils import BadInputError
    afile = tmp_path / 'a_file'
    afile.write_text('')
    with pytest.raises(BadInputError, match='is a file; the logs'):
        resolved(train_tool, [TINY_CONFIG, '--work-dir', str(afile)])
    with pytest.raises(BadInputError, match='--test-protocols are the '
                       'views of --test-last'):
        resolved(train_tool, [TINY_CONFIG, '--test-protocols', '3x1'])
    for tool, argv in ((train_tool, [TINY_CONFIG, '--seed', '-1']),
                       (test_tool, [TINY_CONFIG, 'c.pth', '--interval',
                                    '0'])):
        with pytest.raises(SystemExit):
            tool.parse_args(argv)
        assert 'is needed' in capsys.readouterr().err
    # A run's own top-level settings are not "variables read when the file
    # was parsed" (the warning was given for load_from, work_dir, resume).
    _, changes = resolved(train_tool, [TINY_CONFIG, '--cfg-options',
                                       'load_from=x.pth', 'data_root=/d'])
    warned = [str(c) for c in changes if c.level == logging.WARNING]
    assert len(warned) == 1 and warned[0].startswith('data_root')


def test_a_config_that_does_not_parse_is_located(tmp_path):
    broken = tmp_path / 'broken.py'
    broken.write_text('model = dict(\n')
    proc = call_tool(['print_config.py', str(broken)], check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (f"error: {broken}, line 1: '(' was never "
                                   'closed (a config is a Python file)')
