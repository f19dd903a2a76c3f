"""Every decoder gives the same frames or refuses: videos with a display
matrix (rotated, flipped), a decoder library that does not load (PyAV,
torchcodec's FFmpeg), and decord's arguments when another decoder replaces
it."""
import os
import os.path as osp
import stat
import subprocess
import sys

import numpy as np
import pytest
from mmengine.registry import init_default_scope

import mmaction_aim  # noqa: F401
from mmaction.registry import DATASETS, TRANSFORMS
from mmaction_aim.datasets.transforms import decoders, torchcodec_decode
from mmaction_aim.datasets.transforms.decoders import (
    decord_quarter_turns, matrix_rotation, torchcodec_quarter_turns,
    with_decoder)
from mmaction_aim.utils import BadInputError
from mmaction_aim.utils.video import tag_display_matrix

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PAIRS = {'decord': ('DecordInit', 'DecordDecode'),
         'sparse': ('SparseInit', 'SparseDecode'),
         'torchcodec': ('TorchCodecInit', 'TorchCodecDecode')}
#: Out of order, a repeat, past a B-frame run.
INDS = [0, 13, 5, 5, 39, 22]
#: Tag -> (tag_display_matrix's arguments, the counter-clockwise quarter
#: turns decord gives the stored pictures).
TAGS = {
    'rot90': (dict(rotation=90), 1),
    'rot180': (dict(rotation=180), 2),
    'rot270': (dict(rotation=270), 3),
    'hflip': (dict(hflip=True), 2),           # read as 180 degrees
    'vflip': (dict(vflip=True), 0),           # read as 0 degrees
    'rot90_hflip': (dict(rotation=90, hflip=True), 1),  # the flip unseen
    'rot45': (dict(rotation=45), 0),          # not a multiple of 90
}


@pytest.fixture(scope='module')
def tagged(codec_videos, tmp_path_factory):
    """The H.264 fixture (40 frames of 96x64, B-frames) copied with each
    display matrix of :data:`TAGS`: ``{tag: path}``."""
    root = tmp_path_factory.mktemp('tagged')
    src, _ = codec_videos['h264']
    return {tag: tag_display_matrix(src, str(root / f'{tag}.mp4'), **args)
            for tag, (args, _) in TAGS.items()}


def _decode(path, decoder, inds=INDS):
    init, decode = PAIRS[decoder]
    results = TRANSFORMS.build(dict(type=init))(dict(filename=path))
    total = results['total_frames']
    results['frame_inds'] = np.array(inds)
    results = TRANSFORMS.build(dict(type=decode))(results)
    imgs = np.stack(results['imgs'])
    assert tuple(results['img_shape']) == tuple(
        results['original_shape']) == imgs.shape[1:3]
    return total, imgs


def _decoders():
    from mmaction_aim.datasets.transforms import torchcodec_problem
    pytest.importorskip('av')
    return ['decord', 'sparse'] + ([] if torchcodec_problem() else
                                   ['torchcodec'])


@pytest.mark.parametrize('tag', [t for t in TAGS if t != 'rot45'])
def test_every_decoder_turns_a_tagged_video_as_decord(tag, tagged,
                                                      codec_videos):
    """Bit for bit, frame count and shapes included; decord's turn is the
    one documented in ``decoders``."""
    init_default_scope('mmaction')
    _, upright = _decode(codec_videos['h264'][0], 'decord')
    expected = np.stack([np.rot90(f, TAGS[tag][1]) for f in upright])
    for decoder in _decoders():
        total, imgs = _decode(tagged[tag], decoder)
        assert total == 40, decoder
        assert np.array_equal(imgs, expected), (tag, decoder)


def test_an_angle_decord_ignores_is_refused_by_torchcodec(tagged,
                                                          codec_videos):
    """45 degrees: decord (and so SparseDecode) keeps the pictures as
    stored, torchcodec would turn them by 90: it refuses the video."""
    init_default_scope('mmaction')
    _, upright = _decode(codec_videos['h264'][0], 'decord')
    for decoder in ('decord', 'sparse'):
        assert np.array_equal(_decode(tagged['rot45'], decoder)[1], upright)
    if 'torchcodec' not in _decoders():
        pytest.skip('torchcodec does not load here')
    with pytest.raises(ValueError, match='display rotation of 45 degrees'):
        TRANSFORMS.build(dict(type='TorchCodecInit'))(
            dict(filename=tagged['rot45']))


@pytest.mark.parametrize('degrees,by_decord,by_torchcodec', [
    (0., 0, 0), (90., 1, 1), (-90., 3, 3), (180., 2, 2), (-180., 2, 2),
    (-0., 0, 0), (45., 0, 1), (-45., 0, 3), (135., 0, 2),
    (89.99, 1, 1),   # 270.01 clockwise: decord truncates to 270
    (90.01, 0, 1),   # 269.99 clockwise: 269, decord does not turn
])
def test_quarter_turn_rules(degrees, by_decord, by_torchcodec):
    assert decord_quarter_turns(degrees) == by_decord
    assert torchcodec_quarter_turns(degrees) == by_torchcodec


def test_matrix_rotation_reads_flips_as_ffmpeg_does():
    one = 1 << 16
    w = 1 << 30
    assert matrix_rotation([0, -one, 0, one, 0, 0, 0, 0, w]) == 90.
    assert abs(matrix_rotation([-one, 0, 0, 0, one, 0, 0, 0, w])) == 180.
    assert matrix_rotation([one, 0, 0, 0, -one, 0, 0, 0, w]) == 0.
    assert matrix_rotation([0] * 9) == 0.


def test_pyav_before_14_gives_the_angle_on_the_stream():
    """PyAV 12-13 put no matrix on frames but the angle in
    ``stream.side_data`` (untested releases: the lookup only)."""
    from types import SimpleNamespace
    from mmaction_aim.datasets.transforms.sparse_decode import display_angle
    frame = SimpleNamespace(side_data=[])
    stream = SimpleNamespace(side_data={'DISPLAYMATRIX': -90.})
    assert display_angle(frame, stream) == -90.
    assert display_angle(frame, SimpleNamespace()) == 0.


def test_a_missing_pyav_fails_when_the_pipeline_is_built(codec_videos,
                                                         tmp_path,
                                                         monkeypatch):
    """Not video by video as bad videos (all of them skipped with
    on_bad_video='skip'): building SparseInit raises, naming PyAV."""
    monkeypatch.setitem(sys.modules, 'av', None)
    init_default_scope('mmaction')
    with pytest.raises(ImportError, match='PyAV.*pip install av'):
        TRANSFORMS.build(dict(type='SparseInit'))
    (tmp_path / 'list.txt').write_text(f'{codec_videos["h264"][0]} 0\n')
    with pytest.raises(ImportError, match='PyAV'):
        DATASETS.build(dict(
            type='AIMVideoDataset', ann_file=str(tmp_path / 'list.txt'),
            decoder='sparse', on_bad_video='skip',
            pipeline=[dict(type='DecordInit'),
                      dict(type='SampleFrames', clip_len=2, num_clips=1),
                      dict(type='DecordDecode')]))
    assert 'pip install av' in decoders.backend_problem('sparse')


def test_torchcodecs_fallback_is_said_when_built(monkeypatch):
    """Once per process, at build time (in the main process, before any
    worker), naming the cause and what decodes instead; on a GPU, an
    error."""
    from conftest import captured_log_records
    monkeypatch.setattr(torchcodec_decode, 'torchcodec_problem',
                        lambda: 'libavutil.so.60: cannot open')
    monkeypatch.setattr(torchcodec_decode._fallback_once, 'said', False,
                        raising=False)
    init_default_scope('mmaction')
    with captured_log_records() as records:
        for _ in range(2):
            TRANSFORMS.build(dict(type='TorchCodecInit'))
    said = [r.getMessage() for r in records if r.levelno >= 30]
    assert len(said) == 1 and 'with decord' in said[0]
    assert 'libavutil' in said[0]
    with pytest.raises(ImportError, match='libavutil'):
        TRANSFORMS.build(dict(type='TorchCodecInit', device='cuda'))


PIPELINE = [dict(type='DecordInit', io_backend='disk', num_threads=3),
            dict(type='SampleFrames', clip_len=2),
            dict(type='DecordDecode', mode='accurate')]


def test_with_decoder_carries_decords_arguments():
    sparse = with_decoder(PIPELINE, 'sparse')
    assert sparse[0] == dict(type='SparseInit')
    assert sparse[2] == dict(type='SparseDecode', num_threads=3)
    torchcodec = with_decoder(PIPELINE, 'torchcodec')
    assert torchcodec[0] == dict(type='TorchCodecInit', num_threads=3)
    assert torchcodec[2] == dict(type='TorchCodecDecode')
    assert sparse[1] is PIPELINE[1]


@pytest.mark.parametrize('decoder', ['sparse', 'torchcodec'])
@pytest.mark.parametrize('init,decode,match', [
    (dict(io_backend='petrel'), {}, "io_backend='petrel'"),
    (dict(conf_path='petreloss.conf'), {}, 'conf_path'),
    ({}, dict(mode='efficient'), "mode='efficient'"),
])
def test_with_decoder_refuses_what_it_cannot_honour(decoder, init, decode,
                                                    match):
    pipeline = [dict(type='DecordInit', **init), dict(type='SampleFrames'),
                dict(type='DecordDecode', **decode)]
    with pytest.raises(BadInputError, match=match):
        with_decoder(pipeline, decoder)


def test_setup_env_makes_activating_the_venv_enough(tmp_path):
    """tools/setup_env.sh writes the export of PyAV's FFmpeg into
    .venv/bin/activate once, however often it runs; activating (twice)
    puts it on LD_LIBRARY_PATH once. Run on a copy with a stand-in venv
    whose python is this one (installing nothing)."""
    if b'libavutil.so' in subprocess.run(['ldconfig', '-p'],
                                         capture_output=True).stdout:
        pytest.skip('the system has FFmpeg: setup_env.sh adds nothing')
    pytest.importorskip('av')
    (tmp_path / 'tools').mkdir()
    with open(osp.join(REPO, 'tools', 'setup_env.sh')) as f:
        (tmp_path / 'tools' / 'setup_env.sh').write_text(f.read())
    (tmp_path / 'setup.py').write_text('# stand-in\n')
    venv = tmp_path / '.venv'
    (venv / 'bin').mkdir(parents=True)
    python = venv / 'bin' / 'python'
    python.write_text(  # no install, no import of the package: a stand-in
        '#!/bin/sh\ncase "$*" in *pip*) exit 1;; *"import mmaction_aim"*) '
        f'exit 0;; esac\nexec {sys.executable} "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    (venv / 'bin' / 'activate').write_text(f'PATH="{venv}/bin:$PATH"\n')
    stamp = subprocess.run(['sha256sum', str(tmp_path / 'setup.py')],
                           capture_output=True, text=True).stdout.split()[0]
    (venv / '.mmaction_aim_setup').write_text(stamp + '\n')
    env = {k: v for k, v in os.environ.items() if k != 'LD_LIBRARY_PATH'}
    script = tmp_path / 'tools' / 'setup_env.sh'
    for _ in range(2):
        subprocess.run(['bash', '-c', f'. "{script}"'], env=env, check=True,
                       capture_output=True)
    hooks = [line for line in (venv / 'bin' / 'activate').read_text()
             .splitlines() if 'mmaction-aim' in line]
    assert len(hooks) == 1
    out = subprocess.run(
        ['bash', '-c', f'. "{venv}/bin/activate"; . "{venv}/bin/activate"; '
         'echo "$LD_LIBRARY_PATH"'], env=env, check=True,
        capture_output=True, text=True).stdout.strip()
    assert out.split(':').count(str(venv / 'ffmpeg-libs')) == 1
    assert any(n.startswith('libavutil.so.')
               for n in os.listdir(venv / 'ffmpeg-libs'))
