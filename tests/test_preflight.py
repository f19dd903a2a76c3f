"""Mistakes in the data or the config found before the first iteration,
each one line naming the file and line, or the pipeline."""
import os
import os.path as osp

import pytest

from conftest import TINY_CONFIG, call_tool, data_options

from mmaction_aim.datasets import VideoListError, read_video_list


@pytest.fixture
def bad_labels(video_dataset, tmp_path):
    """The fixture's lists with a label 5 (of 3 classes) in train and a -1
    in val."""
    lists = {}
    for split, wrong in (('train', 5), ('val', -1)):
        with open(video_dataset[split]) as f:
            lines = f.read().splitlines()
        name = lines[1].split(' ')[0]
        lines[1] = f'{name} {wrong}'
        lists[split] = str(tmp_path / f'{split}.txt')
        with open(lists[split], 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return dict(video_dataset, **lists)


def _one_error_line(proc, *expected):
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith('error: '), proc.stderr
    assert 'Traceback' not in proc.stderr
    for text in expected:
        assert text in proc.stderr, proc.stderr


def test_lists_are_read_with_line_numbers(tmp_path):
    path = tmp_path / 'list.txt'
    path.write_text('a.mp4 0\n\nb.mp4 2\nc.mp4\nd.mp4 x\n')
    with pytest.raises(VideoListError) as info:
        read_video_list(str(path))
    message = str(info.value)
    assert str(path) in message
    assert "line 4: no label ('c.mp4')" in message
    assert "line 5: label 'x' is not an integer" in message
    path.write_text('a.mp4 0\n\nb.mp4 2\n')
    assert [(e.line, e.label) for e in read_video_list(str(path))] == \
        [(1, 0), (3, 2)]


def test_training_stops_before_the_first_iteration_naming_the_line(
        bad_labels, tmp_path):
    """Before 0.2: an IndexError ("Target 5 is out of bounds") at some
    batch, naming no file or line."""
    work = str(tmp_path / 'work')
    proc = call_tool(['train.py', TINY_CONFIG, '--work-dir', work,
                      '--cfg-options', *data_options(bad_labels)],
                     check=False)
    _one_error_line(proc, bad_labels['train'], 'line 2: label 5 is outside '
                    '0..2 (3 classes)', 'cls_head.num_classes')
    assert not any(f.endswith('.pth') for f in os.listdir(work))


def test_testing_refuses_labels_outside_the_classes(bad_labels, tmp_path):
    """Before 0.2 tools/test.py exited 0 with wrong metrics."""
    import torch
    from mmengine.config import Config

    from mmaction_aim.analysis import build_model
    checkpoint = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict=build_model(Config.fromfile(TINY_CONFIG))
                    .state_dict()), checkpoint)
    proc = call_tool(['test.py', TINY_CONFIG, checkpoint, '--work-dir',
                      str(tmp_path), '--cfg-options',
                      *data_options(bad_labels)], check=False)
    _one_error_line(proc, bad_labels['val'], 'line 2: label -1')


def test_the_dataset_checks_labels_when_it_knows_the_classes(bad_labels):
    from mmengine.registry import init_default_scope

    from mmaction.registry import DATASETS
    init_default_scope('mmaction')
    with pytest.raises(VideoListError, match='line 2: label 5'):
        DATASETS.build(dict(type='AIMVideoDataset',
                            ann_file=bad_labels['train'], num_classes=3,
                            data_prefix=dict(video=bad_labels['videos']),
                            pipeline=[]))


def test_check_dataset_reports_labels(bad_labels):
    """Before 0.2: "all videos are good" for label 5 of 3 classes."""
    proc = call_tool(['check_dataset.py', bad_labels['train'],
                      '--data-prefix', bad_labels['videos'],
                      '--num-classes', '3'], check=False)
    assert proc.returncode == 1
    assert '1 of 6 labels are outside the 3 classes' in proc.stdout
    assert 'line 2: label 5' in proc.stdout
    # From a config: its head's class count.
    proc = call_tool(['check_dataset.py', TINY_CONFIG, '--cfg-options',
                      *data_options(bad_labels)], check=False)
    assert proc.returncode == 1
    assert 'line 2: label 5' in proc.stdout
    assert 'line 2: label -1' in proc.stdout
    # A list without --num-classes says its labels were not checked.
    proc = call_tool(['check_dataset.py', bad_labels['train'],
                      '--data-prefix', bad_labels['videos']])
    assert 'labels not checked' in proc.stdout


@pytest.mark.parametrize('option,expected', [
    # A validation clip length other than the backbone's: before 0.2 this
    # failed only after a whole training epoch.
    ('val_dataloader.dataset.pipeline.1.clip_len=8',
     'The val pipeline samples clips of 8 frames'),
    # A missed crop: frames of another size than the image model takes.
    ('train_dataloader.dataset.pipeline.5.scale=(40,40)',
     'frames of 40x40, the image model takes 32x32'),
])
def test_config_mistakes_found_before_the_first_iteration(
        video_dataset, tmp_path, option, expected):
    work = str(tmp_path / 'work')
    proc = call_tool(['train.py', TINY_CONFIG, '--work-dir', work,
                      '--cfg-options', *data_options(video_dataset),
                      option], check=False)
    _one_error_line(proc, expected)
    logs = [osp.join(root, f) for root, _, files in os.walk(work)
            for f in files if f.endswith('.log')]
    assert logs and not any('Epoch(train)' in open(f).read() for f in logs)
