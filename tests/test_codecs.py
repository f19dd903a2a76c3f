"""Every decoding path on the codecs datasets use: H.264 with B-frames and
long GOPs, VP9 WebM, a variable frame rate (fixtures encoded at test time by
the FFmpeg binary of imageio-ffmpeg)."""
import numpy as np
import pytest
from mmengine.registry import init_default_scope

import mmaction_aim  # noqa: F401
from mmaction.registry import DATASETS, TRANSFORMS
from mmaction_aim.datasets import check_video

#: Out of order and backwards: seeking, not only reading on.
INDICES = [0, 7, 19, 3, 26, 29, 12]
DECODERS = [('DecordInit', 'DecordDecode'), ('PyAVInit', 'PyAVDecode'),
            ('OpenCVInit', 'OpenCVDecode')]


def _which_frame(frame, source):
    errors = [np.abs(frame.astype(int) - s.astype(int)).mean()
              for s in source]
    return int(np.argmin(errors)), min(errors)


def test_the_fixtures_are_what_they_claim(codec_videos):
    av = pytest.importorskip('av')
    facts = {}
    for name, (path, _) in codec_videos.items():
        with av.open(path) as container:
            stream = container.streams.video[0]
            kinds, times = [], []
            for frame in container.decode(stream):
                kinds.append(int(frame.pict_type))  # 1 I, 2 P, 3 B
                times.append(float(frame.pts * stream.time_base))
            facts[name] = (stream.codec_context.name, kinds,
                           np.round(np.diff(times), 3))
    codec, kinds, gaps = facts['h264']
    assert codec == 'h264' and kinds.count(1) == 1 and 3 in kinds
    assert facts['vp9'][0] == 'vp9'
    codec, kinds, gaps = facts['h264_vfr']
    assert codec == 'h264' and set(gaps[:9]) == {0.1}
    assert set(gaps[10:]) == {0.033}


@pytest.mark.parametrize('init,decode', DECODERS)
@pytest.mark.parametrize('name', ['h264', 'vp9', 'h264_vfr'])
def test_every_decoder_gives_the_sampled_frames(name, init, decode,
                                                codec_videos):
    if init == 'PyAVInit':
        pytest.importorskip('av')
    path, source = codec_videos[name]
    init_default_scope('mmaction')
    results = TRANSFORMS.build(dict(type=init))(dict(filename=path))
    if init == 'PyAVInit' and name == 'vp9':
        # MMAction2's PyAVInit counts frames from the container header,
        # which WebM does not have: 0, so no clip can be sampled from
        # Something-Something v2 videos this way (decord counts them).
        assert results['total_frames'] == 0
        results['total_frames'] = len(source)
    assert results['total_frames'] == len(source)
    results['frame_inds'] = np.array(INDICES)
    results = TRANSFORMS.build(dict(type=decode))(results)
    assert len(results['imgs']) == len(INDICES)
    for index, frame in zip(INDICES, results['imgs'], strict=True):
        found, error = _which_frame(frame, source)
        assert found == index, (name, decode, index, found)
        assert error < 6, (name, decode, index, error)  # lossy, but close


def test_decord_and_pyav_agree(codec_videos):
    pytest.importorskip('av')
    init_default_scope('mmaction')
    for name, (path, _) in codec_videos.items():
        frames = {}
        for init, decode in DECODERS[:2]:
            results = TRANSFORMS.build(dict(type=init))(dict(filename=path))
            results['frame_inds'] = np.array(sorted(INDICES))
            frames[init] = np.stack(
                TRANSFORMS.build(dict(type=decode))(results)['imgs'])
        diff = np.abs(frames['DecordInit'].astype(int) -
                      frames['PyAVInit'].astype(int))
        assert diff.mean() < 1.0, (name, diff.mean())


@pytest.mark.parametrize('name', ['h264', 'vp9', 'h264_vfr'])
def test_the_dataset_trains_on_them(name, codec_videos, tmp_path):
    path, source = codec_videos[name]
    assert check_video(path) is None  # decodable: no reason
    (tmp_path / 'list.txt').write_text(f'{path} 1\n')
    init_default_scope('mmaction')
    dataset = DATASETS.build(dict(
        type='AIMVideoDataset', ann_file=str(tmp_path / 'list.txt'),
        pipeline=[dict(type='DecordInit'),
                  dict(type='SampleFrames', clip_len=4, frame_interval=4,
                       num_clips=1),
                  dict(type='DecordDecode'),
                  dict(type='Resize', scale=(-1, 40)),
                  dict(type='RandomResizedCrop'),
                  dict(type='Resize', scale=(32, 32), keep_ratio=False),
                  dict(type='Flip', flip_ratio=0.5),
                  dict(type='FormatShape', input_format='NCTHW'),
                  dict(type='PackActionInputs')]))
    sample = dataset[0]
    assert tuple(sample['inputs'].shape) == (1, 3, 4, 32, 32)


@pytest.mark.parametrize('name', ['h264', 'vp9', 'h264_vfr'])
@pytest.mark.parametrize('inds', [
    INDICES,                               # out of order, backwards
    list(range(2, 30, 4)),                 # one training clip
    [0, 1, 2, 13, 14, 15, 26, 27, 28, 5],  # three test clips, a repeat
])
def test_sparse_decoding_gives_decords_frames_exactly(name, inds,
                                                      codec_videos):
    """Skipping unsampled non-reference pictures changes no sampled
    frame: every one equals decord's, bit for bit."""
    pytest.importorskip('av')
    path, source = codec_videos[name]
    inds = [i % len(source) for i in inds]
    init_default_scope('mmaction')
    frames = {}
    for init, decode in (('DecordInit', 'DecordDecode'),
                         ('SparseInit', 'SparseDecode')):
        results = TRANSFORMS.build(dict(type=init))(dict(filename=path))
        assert results['total_frames'] == len(source)  # WebM too
        results['frame_inds'] = np.array(inds)
        frames[init] = np.stack(
            TRANSFORMS.build(dict(type=decode))(results)['imgs'])
    assert np.array_equal(frames['DecordInit'], frames['SparseInit'])


def test_sparse_decoding_decodes_fewer_pictures(codec_videos):
    """On H.264 with B-frames, fewer pictures are decoded than a full
    decode up to the last sampled frame."""
    pytest.importorskip('av')
    path, _ = codec_videos['h264']
    counts = {}
    for skip in (False, True):
        results = TRANSFORMS.build(dict(type='SparseInit'))(
            dict(filename=path))
        results['frame_inds'] = np.arange(1, 40, 8)
        results = TRANSFORMS.build(dict(type='SparseDecode',
                                        skip_nonref=skip))(results)
        counts[skip] = results['decoded_pictures']
    # 34 pictures decoded in full up to frame 33, 22 sparsely.
    assert counts[True] < 0.8 * counts[False], counts


def test_sparse_decoding_reads_the_file_once(codec_videos, monkeypatch):
    """SparseInit's packets and decoder serve SparseDecode: one opening of
    the file; without them (a results dict that lost them) it opens the
    file again and gives the same frames."""
    av = pytest.importorskip('av')
    path, _ = codec_videos['h264']
    opened = []
    real_open = av.open
    monkeypatch.setattr(av, 'open',
                        lambda *a, **k: opened.append(a[0]) or
                        real_open(*a, **k))
    init_default_scope('mmaction')
    init = TRANSFORMS.build(dict(type='SparseInit'))
    decode = TRANSFORMS.build(dict(type='SparseDecode'))
    results = init(dict(filename=path))
    results['frame_inds'] = np.array(INDICES)
    frames = np.stack(decode(results)['imgs'])
    assert opened == [path] and 'sparse_video' not in results
    again = init(dict(filename=path))
    again.pop('sparse_video').close()
    again['frame_inds'] = np.array(INDICES)
    assert np.array_equal(np.stack(decode(again)['imgs']), frames)
    assert len(opened) == 3


def test_a_frame_sampled_twice_is_two_arrays(codec_videos):
    """As decord gives them: Flip works in place, frame by frame."""
    pytest.importorskip('av')
    path, _ = codec_videos['h264']
    init_default_scope('mmaction')
    results = TRANSFORMS.build(dict(type='SparseInit'))(dict(filename=path))
    results['frame_inds'] = np.array([3, 5, 3, 3])
    imgs = TRANSFORMS.build(dict(type='SparseDecode'))(results)['imgs']
    assert len({id(img) for img in imgs}) == 4
    assert np.array_equal(imgs[0], imgs[2])


def _decode(path, init, decode, inds):
    results = TRANSFORMS.build(init)(dict(filename=path))
    results['frame_inds'] = np.array(inds)
    return np.stack(TRANSFORMS.build(decode)(results)['imgs'])


@pytest.mark.parametrize('name', ['h264', 'vp9', 'h264_vfr'])
def test_torchcodec_gives_decords_frames(name, codec_videos):
    from mmaction_aim.datasets.transforms import torchcodec_problem
    if torchcodec_problem():
        pytest.skip(torchcodec_problem())
    path, source = codec_videos[name]
    init_default_scope('mmaction')
    inds = [i % len(source) for i in INDICES]
    ours = _decode(path, dict(type='TorchCodecInit'),
                   dict(type='TorchCodecDecode'), inds)
    decord = _decode(path, dict(type='DecordInit'),
                     dict(type='DecordDecode'), inds)
    assert np.array_equal(ours, decord)


def test_without_torchcodec_decord_decodes_after_one_line(codec_videos,
                                                          monkeypatch):
    """Where torchcodec cannot load, one warning names what is missing and
    the frames are decord's."""
    from mmaction_aim.datasets.transforms import torchcodec_decode
    from conftest import captured_log_records
    monkeypatch.setattr(torchcodec_decode, 'torchcodec_problem',
                        lambda: 'torchcodec cannot load FFmpeg: libavutil')
    monkeypatch.setattr(torchcodec_decode._fallback_once, 'said', False,
                        raising=False)
    path, _ = codec_videos['h264']
    init_default_scope('mmaction')
    with captured_log_records() as records:
        for _ in range(2):
            ours = _decode(path, dict(type='TorchCodecInit'),
                           dict(type='TorchCodecDecode'), INDICES)
    lines = [r.getMessage() for r in records if 'decord' in r.getMessage()]
    assert len(lines) == 1 and 'libavutil' in lines[0]
    assert np.array_equal(ours, _decode(path, dict(type='DecordInit'),
                                        dict(type='DecordDecode'), INDICES))
    with pytest.raises(ImportError, match='libavutil'):  # when built
        TRANSFORMS.build(dict(type='TorchCodecInit', device='cuda'))


def test_a_decoder_is_two_pipeline_entries():
    from mmaction_aim.datasets.transforms import with_decoder
    pipeline = [dict(type='DecordInit'), dict(type='SampleFrames'),
                dict(type='DecordDecode'), dict(type='Resize')]
    for decoder, pair in (('sparse', ('SparseInit', 'SparseDecode')),
                          ('torchcodec', ('TorchCodecInit',
                                          'TorchCodecDecode'))):
        types = [t['type'] for t in with_decoder(pipeline, decoder)]
        assert types == [pair[0], 'SampleFrames', pair[1], 'Resize']
    assert with_decoder(pipeline, 'decord') == pipeline
    with pytest.raises(ValueError, match='decoder'):
        with_decoder(pipeline, 'opencv')
    with pytest.raises(ValueError, match='replaces DecordInit'):
        with_decoder(pipeline[1:], 'sparse')


def test_a_dataset_option_chooses_the_decoder(codec_videos, tmp_path):
    """AIMVideoDataset(decoder='sparse'): the pipeline as written with
    SparseInit / SparseDecode in place of decord's pair, the same frames."""
    pytest.importorskip('av')
    path, _ = codec_videos['h264']
    (tmp_path / 'list.txt').write_text(f'{path} 1\n')
    init_default_scope('mmaction')
    samples = {}
    for decoder in (None, 'sparse'):
        dataset = DATASETS.build(dict(
            type='AIMVideoDataset', ann_file=str(tmp_path / 'list.txt'),
            decoder=decoder,
            pipeline=[dict(type='DecordInit'),
                      dict(type='SampleFrames', clip_len=4, frame_interval=3,
                           num_clips=1),
                      dict(type='DecordDecode')]))
        samples[decoder] = dataset[0]
        names = [type(t).__name__ for t in dataset.pipeline.transforms]
        assert names == (['SparseInit', 'SampleFrames', 'SparseDecode']
                         if decoder else
                         ['DecordInit', 'SampleFrames', 'DecordDecode'])
    # The draws are random: decord on the sparse sample's own indices.
    assert np.array_equal(
        np.stack(samples['sparse']['imgs']),
        _decode(path, dict(type='DecordInit'), dict(type='DecordDecode'),
                samples['sparse']['frame_inds']))
