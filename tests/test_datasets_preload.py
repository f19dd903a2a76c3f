"""``AIMVideoDataset(preload=True)``: every video decoded once with decord,
read by ``ArrayDecode``; the same samples as decoding the file each time."""
import shutil

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from conftest import captured_log_records

import mmaction_aim  # noqa: F401
from mmaction.registry import DATASETS
from mmaction_aim.datasets import BadVideoError


def pipeline(decode: str, test_mode: bool) -> list:
    """The same pipeline, reading the file (``'decord'``) or the preloaded
    frames (``'array'``)."""
    sample = dict(type='SampleFrames', clip_len=4, frame_interval=2,
                  num_clips=1, test_mode=test_mode)
    crop = (dict(type='CenterCrop', crop_size=32) if test_mode else
            dict(type='RandomCrop', size=32))
    rest = [dict(type='Resize', scale=(-1, 40)), crop,
            dict(type='FormatShape', input_format='NCTHW'),
            dict(type='PackActionInputs')]
    if decode == 'decord':
        return [dict(type='DecordInit'), sample, dict(type='DecordDecode'),
                *rest]
    return [sample, dict(type='ArrayDecode'), *rest]


@pytest.fixture(autouse=True)
def mmaction_scope():
    """Transforms are looked up in MMAction2's scope, as under a runner."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')


def build(dataset: dict, decode: str, test_mode: bool = False, **kwargs):
    kwargs.setdefault('preload', decode == 'array')
    return DATASETS.build(dict(
        type='AIMVideoDataset', ann_file=dataset['train'],
        data_prefix=dict(video=dataset['videos']),
        pipeline=pipeline(decode, test_mode), test_mode=test_mode, **kwargs))


def samples(dataset, seed: int) -> list:
    """Every sample, with the random frame offsets and crops drawn from
    ``seed``."""
    np.random.seed(seed)
    return [dataset[i] for i in range(len(dataset))]


@pytest.mark.parametrize('test_mode', [True, False])
def test_preloaded_samples_equal_decoding_every_time(video_dataset,
                                                     test_mode):
    with captured_log_records() as records:
        preloaded = build(video_dataset, 'array', test_mode)
    from_file = build(video_dataset, 'decord', test_mode)
    assert len(preloaded) == len(from_file) == 6
    for a, b in zip(samples(preloaded, 1), samples(from_file, 1),
                    strict=True):
        assert a['inputs'].shape == (1, 3, 4, 32, 32)
        assert torch.equal(a['inputs'], b['inputs'])
        assert a['data_samples'].gt_label == b['data_samples'].gt_label
    # Random sampling really varies (the comparison above is not vacuous).
    if not test_mode:
        other = samples(preloaded, 2)
        assert any(not torch.equal(a['inputs'], b['inputs'])
                   for a, b in zip(samples(preloaded, 1), other,
                                   strict=True))
    text = '\n'.join(r.getMessage() for r in records)
    assert 'Preloaded 6 videos' in text and 'MB of frames' in text


def test_preloaded_frames_reach_dataloader_workers(video_dataset, tmp_path):
    # The files are gone: workers can only use the preloaded frames.
    copy = dict(video_dataset, videos=str(tmp_path / 'gone'))
    shutil.copytree(video_dataset['videos'], copy['videos'])
    dataset = build(copy, 'array', test_mode=True)
    shutil.rmtree(copy['videos'])
    loader = torch.utils.data.DataLoader(dataset, batch_size=6,
                                         num_workers=1,
                                         collate_fn=pseudo_collate)
    batch = next(iter(loader))
    expected = [s['inputs'] for s in samples(
        build(video_dataset, 'decord', test_mode=True), 0)]
    assert all(torch.equal(a, b) for a, b in zip(batch['inputs'], expected,
                                                 strict=True))


def test_pipeline_must_read_the_preloaded_frames(video_dataset):
    with pytest.raises(ValueError, match='it has DecordInit, DecordDecode'):
        build(video_dataset, 'decord', preload=True)
    no_decode = [t for t in pipeline('array', True)
                 if t['type'] != 'ArrayDecode']
    with pytest.raises(ValueError, match='must read them with ArrayDecode'):
        DATASETS.build(dict(type='AIMVideoDataset',
                            ann_file=video_dataset['train'],
                            data_prefix=dict(video=video_dataset['videos']),
                            pipeline=no_decode, preload=True))


def test_preload_stops_at_its_memory_limit(video_dataset):
    # One 32x40 video of the fixture holds about 40 kB of frames.
    with pytest.raises(ValueError, match='preload_limit_mb=0.05'):
        build(video_dataset, 'array', preload_limit_mb=0.05)


def test_undecodable_video_while_preloading(video_dataset, tmp_path):
    root = tmp_path / 'bad'
    shutil.copytree(video_dataset['root'], root)
    with open(root / 'videos' / 'train_c0_1.mp4', 'r+b') as f:
        f.truncate(200)  # keep the header, drop the rest
    bad = dict(video_dataset, train=str(root / 'train.txt'),
               videos=str(root / 'videos'))
    with pytest.raises(BadVideoError, match='train_c0_1.mp4'):
        build(bad, 'array')
    with captured_log_records() as records:
        dataset = build(bad, 'array', on_bad_video='skip')
    assert len(dataset) == 5
    assert 'train_c0_1.mp4' in '\n'.join(r.getMessage() for r in records)
    assert all('train_c0_1.mp4' not in dataset.get_data_info(i)['filename']
               for i in range(5))
