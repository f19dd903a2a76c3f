"""Missing and undecodable videos are reported by name: before training
(tools/check_dataset.py), at start-up, and while loading, in workers too."""
import os.path as osp
import shutil

import pytest
import torch
from mmengine.dataset import pseudo_collate

from conftest import (TINY_CONFIG, call_tool, captured_log_records,
                      data_options)

import mmaction_aim  # noqa: F401
from mmaction.registry import DATASETS
from mmaction_aim.datasets import (AIMVideoDataset, BadVideoError,
                                   check_video, check_video_list)

PIPELINE = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=4, frame_interval=2, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 40)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]


@pytest.fixture
def bad_dataset(video_dataset, tmp_path) -> dict:
    """The fixture dataset with one truncated video and one missing one."""
    root = str(tmp_path / 'bad')
    shutil.copytree(video_dataset['root'], root)
    videos = osp.join(root, 'videos')
    broken = osp.join(videos, 'train_c0_1.mp4')
    with open(broken, 'r+b') as f:  # keep the header, drop the rest
        f.truncate(200)
    train = osp.join(root, 'train.txt')
    with open(train, 'a') as f:
        f.write('not_there.mp4 1\n')
    return dict(root=root, videos=videos, train=train, val=osp.join(
        root, 'val.txt'), broken=broken, missing=osp.join(
            videos, 'not_there.mp4'))


@pytest.fixture(autouse=True)
def mmaction_scope():
    """Transforms are looked up in MMAction2's scope, as under a runner."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')


def build(ann_file, prefix, **kwargs) -> AIMVideoDataset:
    return DATASETS.build(dict(type='AIMVideoDataset', ann_file=ann_file,
                               data_prefix=dict(video=prefix),
                               pipeline=PIPELINE, **kwargs))


def test_real_videos_through_mmaction_pipeline(video_dataset):
    dataset = build(video_dataset['train'], video_dataset['videos'])
    assert len(dataset) == 6
    sample = dataset[0]
    assert sample['inputs'].shape == (1, 3, 4, 32, 32)
    assert sample['inputs'].dtype == torch.uint8
    assert sample['inputs'].float().std() > 5  # real pixels, not a blank
    assert check_video(dataset.get_data_info(0)['filename']) is None


def test_check_video_list_names_every_bad_file(bad_dataset):
    bad = dict(check_video_list(bad_dataset['train'], bad_dataset['videos']))
    assert set(bad) == {bad_dataset['broken'], bad_dataset['missing']}
    assert bad[bad_dataset['missing']] == 'missing'
    assert bad[bad_dataset['broken']].startswith('undecodable')


def test_missing_file_is_an_error_at_start_up(bad_dataset):
    with pytest.raises(BadVideoError) as info:
        build(bad_dataset['train'], bad_dataset['videos'])
    assert bad_dataset['missing'] in str(info.value)
    assert '1 of 7 videos' in str(info.value)


def test_undecodable_file_error_names_it(bad_dataset):
    dataset = build(bad_dataset['train'], bad_dataset['videos'],
                    check_exists=False)
    index = [dataset.get_data_info(i)['filename']
             for i in range(len(dataset))].index(bad_dataset['broken'])
    with pytest.raises(BadVideoError, match='train_c0_1.mp4'):
        dataset[index]


def test_error_from_a_worker_process_names_the_file(bad_dataset):
    dataset = build(bad_dataset['train'], bad_dataset['videos'],
                    check_exists=False, test_mode=True)
    loader = torch.utils.data.DataLoader(dataset, batch_size=7,
                                         num_workers=1,
                                         collate_fn=pseudo_collate)
    with pytest.raises(Exception) as info:
        next(iter(loader))
    assert 'train_c0_1.mp4' in str(info.value)
    assert 'BadVideoError' in str(info.value)


def test_skip_policy_logs_and_trains_on_the_rest(bad_dataset):
    with captured_log_records() as records:
        dataset = build(bad_dataset['train'], bad_dataset['videos'],
                        on_bad_video='skip')
        assert len(dataset) == 6  # the missing one dropped at start-up
        names = [dataset.get_data_info(i)['filename'] for i in range(6)]
        sample = dataset[names.index(bad_dataset['broken'])]
    assert sample['inputs'].shape == (1, 3, 4, 32, 32)  # another video
    text = '\n'.join(record.getMessage() for record in records)
    assert 'not_there.mp4' in text and 'train_c0_1.mp4' in text


def test_skip_policy_never_skips_at_test_time(bad_dataset):
    with pytest.raises(BadVideoError) as info:
        build(bad_dataset['train'], bad_dataset['videos'],
              on_bad_video='skip', test_mode=True)
    # ... and does not advise what test mode refuses (before 0.2 it did).
    assert "on_bad_video='skip'" not in str(info.value)
    assert 'test mode never skips' in str(info.value)
    dataset = build(bad_dataset['train'], bad_dataset['videos'],
                    check_exists=False, test_mode=True)
    index = [dataset.get_data_info(i)['filename']
             for i in range(len(dataset))].index(bad_dataset['broken'])
    with pytest.raises(BadVideoError) as info:
        dataset[index]
    assert "on_bad_video='skip'" not in str(info.value)


@pytest.mark.parametrize('policy', ['error', 'skip'])
def test_a_pipeline_mistake_is_not_a_bad_video(video_dataset, policy):
    """Only the decoding transforms' failures are bad videos; a config
    mistake elsewhere keeps its own error and traceback (before 0.2 it
    became a BadVideoError, and under 'skip' every sample was skipped until
    MMEngine gave up)."""
    mistaken = [dict(type='DecordInit'),
                dict(type='SampleFrames', clip_len=4, frame_interval=2,
                     num_clips=1),
                dict(type='Resize', scale=(-1, 40)),  # before decoding
                dict(type='DecordDecode'),
                dict(type='FormatShape', input_format='NCTHW'),
                dict(type='PackActionInputs')]
    dataset = DATASETS.build(dict(
        type='AIMVideoDataset', ann_file=video_dataset['train'],
        data_prefix=dict(video=video_dataset['videos']), pipeline=mistaken,
        on_bad_video=policy))
    with pytest.raises(KeyError, match='imgs'):
        dataset[0]


def test_check_dataset_tool(bad_dataset, video_dataset):
    proc = call_tool(['check_dataset.py', bad_dataset['train'],
                     '--data-prefix', bad_dataset['videos']], check=False)
    assert proc.returncode == 1
    assert 'train_c0_1.mp4: undecodable' in proc.stdout
    assert 'not_there.mp4: missing' in proc.stdout
    assert '2 of 7 videos are bad' in proc.stdout

    proc = call_tool(['check_dataset.py', TINY_CONFIG, '--cfg-options',
                     *data_options(video_dataset)])
    assert proc.stdout.count('are good') == 2  # train, val (= test)


def test_training_on_a_bad_list_stops_with_the_names(bad_dataset, tmp_path):
    proc = call_tool(['train.py', TINY_CONFIG, '--work-dir',
                     str(tmp_path / 'w'), '--cfg-options',
                     *data_options(bad_dataset)], check=False)
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.startswith('error: ') or '\nerror: ' in proc.stderr
    assert 'not_there.mp4' in proc.stderr


def test_a_directory_in_a_list_is_called_one(video_dataset, tmp_path):
    """Before: a directory listed as a video was called 'missing'."""
    import os
    videos = tmp_path / 'videos'
    os.makedirs(videos / 'a_folder.mp4')
    os.symlink(os.path.join(video_dataset['videos'], 'train_c0_0.mp4'),
               videos / 'train_c0_0.mp4')
    listing = tmp_path / 'with_dir.txt'
    listing.write_text('a_folder.mp4 0\ntrain_c0_0.mp4 0\n')
    bad = dict(check_video_list(str(listing), str(videos)))
    assert list(bad.values()) == ['a directory, not a video']
    with pytest.raises(BadVideoError, match='a directory, not a video'):
        build(str(listing), str(videos))
