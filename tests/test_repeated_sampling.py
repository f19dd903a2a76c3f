"""Repeated sampling (``AIMRepeatedVideoDataset(num_repeats=K)``): K
training clips per video read, each drawn and augmented as a single clip
is, their frames decoded once."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

import mmaction_aim  # noqa: F401
from mmaction.registry import DATASETS, TRANSFORMS
from mmaction_aim.engine.preflight import ConfigMismatchError, check_collate

DECODER_PAIRS = [('DecordInit', 'DecordDecode'),
                 ('SparseInit', 'SparseDecode')]


def _pipeline(init, decode, *after):
    return [dict(type=init),
            dict(type='SampleFrames', clip_len=4, frame_interval=3,
                 num_clips=1),
            dict(type=decode), *after]


def _dataset(video, pipeline, **kwargs):
    path, _ = video
    root = osp.dirname(path)
    list_file = osp.join(root, f'list_{osp.basename(path)}.txt')
    with open(list_file, 'w') as f:
        f.write(f'{osp.basename(path)} 1\n')
    init_default_scope('mmaction')
    kind = 'AIMRepeatedVideoDataset' if 'num_repeats' in kwargs else \
        'AIMVideoDataset'
    return DATASETS.build(dict(type=kind, ann_file=list_file,
                               data_prefix=dict(video=root),
                               pipeline=pipeline, **kwargs))


def _decord_frames(path, inds):
    results = TRANSFORMS.build(dict(type='DecordInit'))(dict(filename=path))
    results['frame_inds'] = np.asarray(inds)
    return np.stack(TRANSFORMS.build(dict(type='DecordDecode'))(results)
                    ['imgs'])


@pytest.mark.parametrize('init,decode', DECODER_PAIRS)
def test_each_clip_is_the_samplers_draw_with_its_own_frames(
        init, decode, codec_videos):
    """The K clips are the sampler's next K draws (as K single-clip samples
    would have drawn them) and each has exactly the frames decord gives for
    its indices."""
    if init == 'SparseInit':
        pytest.importorskip('av')
    path, source = codec_videos['h264']
    dataset = _dataset(codec_videos['h264'], _pipeline(init, decode),
                       num_repeats=3)
    np.random.seed(5)
    clips = dataset[0]
    assert isinstance(clips, list) and len(clips) == 3
    np.random.seed(5)
    sampler = TRANSFORMS.build(dict(type='SampleFrames', clip_len=4,
                                    frame_interval=3, num_clips=1))
    expected = [sampler(dict(total_frames=len(source), start_index=0))
                ['frame_inds'] for _ in range(3)]
    assert len({tuple(e) for e in expected}) > 1  # distinct draws
    for clip, inds in zip(clips, expected, strict=True):
        assert np.array_equal(clip['frame_inds'], inds)
        assert np.array_equal(np.stack(clip['imgs']),
                              _decord_frames(path, inds))
        assert clip['clip_len'] == 4 and clip['label'] == 1
        # The readers are closed and dropped, as after a single clip.
        assert clip.get('video_reader') is None
        assert 'sparse_video' not in clip


def test_the_frames_are_decoded_once_in_increasing_order(codec_videos,
                                                         monkeypatch):
    """One call of the decoder per video, each frame once, in increasing
    order (decord decodes again from a keyframe for each step back)."""
    from mmaction.datasets.transforms import DecordDecode
    calls = []
    original = DecordDecode.transform

    def spy(self, results):
        calls.append(np.array(results['frame_inds']))
        return original(self, results)

    monkeypatch.setattr(DecordDecode, 'transform', spy)
    dataset = _dataset(codec_videos['h264'],
                       _pipeline('DecordInit', 'DecordDecode'),
                       num_repeats=4)
    np.random.seed(0)
    clips = dataset[0]
    assert len(calls) == 1
    union = np.unique(np.concatenate([c['frame_inds'] for c in clips]))
    assert np.array_equal(calls[0], union)
    assert (np.diff(calls[0]) > 0).all()


def test_sample_once_augments_the_same_frames_apart(codec_videos):
    """sample_once: every clip has the same frames; a Flip (in place) of
    one clip leaves the others as decoded."""
    path, _ = codec_videos['h264']
    dataset = _dataset(codec_videos['h264'],
                       _pipeline('DecordInit', 'DecordDecode',
                                 dict(type='Flip', flip_ratio=0.5)),
                       num_repeats=6, sample_once=True)
    np.random.seed(1)
    clips = dataset[0]
    inds = clips[0]['frame_inds']
    decoded = _decord_frames(path, inds)
    flipped = [c['flip'] for c in clips]
    assert any(flipped) and not all(flipped)
    for clip in clips:
        assert np.array_equal(clip['frame_inds'], inds)
        frames = np.stack(clip['imgs'])
        assert np.array_equal(frames, decoded[:, :, ::-1] if clip['flip']
                              else decoded)


def test_a_batch_holds_every_clip(codec_videos):
    """Through MMAction2's repeat_pseudo_collate, a batch of B videos is
    B x K clips, each a packed sample."""
    from mmaction.datasets import repeat_pseudo_collate
    dataset = _dataset(codec_videos['h264'], _pipeline(
        'SparseInit', 'SparseDecode',
        dict(type='Resize', scale=(16, 16), keep_ratio=False),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs')), num_repeats=2)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=1, collate_fn=repeat_pseudo_collate)
    batch = next(iter(loader))
    assert len(batch['inputs']) == 2
    assert all(tuple(x.shape) == (1, 3, 4, 16, 16) for x in batch['inputs'])
    check_collate(dataset, loader, 'train')
    plain = torch.utils.data.DataLoader(dataset, batch_size=1)
    with pytest.raises(ConfigMismatchError, match='repeat_pseudo_collate'):
        check_collate(dataset, plain, 'train')


def test_a_bad_video_follows_the_datasets_policy(codec_videos, tmp_path):
    """A video that cannot be opened is skipped (None) with 'skip', named
    with 'error', as without repeats."""
    from mmaction_aim.datasets import BadVideoError
    bad = tmp_path / 'bad.mp4'
    bad.write_bytes(b'not a video' * 100)
    video = (str(bad), None)
    for init, decode in DECODER_PAIRS:
        dataset = _dataset(video, _pipeline(init, decode), num_repeats=2,
                           on_bad_video='skip')
        assert dataset.prepare_data(0) is None
        dataset = _dataset(video, _pipeline(init, decode), num_repeats=2)
        with pytest.raises(BadVideoError, match='bad.mp4'):
            dataset.prepare_data(0)


def test_the_options_are_checked(codec_videos):
    with pytest.raises(ValueError, match='three consecutive transforms'):
        _dataset(codec_videos['h264'],
                 [dict(type='DecordInit'), dict(type='SampleFrames',
                                                clip_len=4),
                  dict(type='Resize', scale=(8, 8)),
                  dict(type='DecordDecode')], num_repeats=2)
    with pytest.raises(ValueError, match='for training'):
        _dataset(codec_videos['h264'],
                 _pipeline('DecordInit', 'DecordDecode'), num_repeats=2,
                 test_mode=True)
    with pytest.raises(ValueError, match='num_repeats'):
        _dataset(codec_videos['h264'],
                 _pipeline('DecordInit', 'DecordDecode'), num_repeats=0)
    with pytest.raises(ValueError, match='num_repeats'):
        _dataset(codec_videos['h264'],
                 _pipeline('DecordInit', 'DecordDecode'), num_repeats=1)
    # The plain dataset: one result, not a list.
    dataset = _dataset(codec_videos['h264'],
                       _pipeline('DecordInit', 'DecordDecode'))
    assert isinstance(dataset[0], dict)


def test_the_repeat_config_trains(video_dataset, tmp_path):
    """configs/ablations/aim_vitb_k400_repeat2.py through tools/train.py
    --shrink: SparseDecode, two clips per video read, MMAction2's
    repeat_pseudo_collate, one epoch and its validation."""
    from conftest import call_tool, data_options
    work_dir = str(tmp_path / 'work')
    proc = call_tool(['train.py', 'configs/ablations/aim_vitb_k400_repeat2.py',
                      '--work-dir', work_dir, '--shrink', '--cfg-options',
                      *data_options(video_dataset),
                      'model.cls_head.num_classes=3'])
    log = proc.stdout
    assert 'loss_cls:' in log and 'acc/top1' in log, log[-3000:]
    assert osp.exists(osp.join(work_dir, 'epoch_1.pth'))
