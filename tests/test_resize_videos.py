"""tools/data/resize_videos.py: short side, every frame, keyframe interval,
codec by extension, resumable, bad files named."""
import os

import numpy as np
import pytest

from conftest import call_tool, numbered_frames
from mmaction_aim.utils.video import encode_video


def _probe(path):
    """(codec, frames, keyframes, height, width) read by PyAV."""
    av = pytest.importorskip('av')
    with av.open(path) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        return (stream.codec_context.name, len(frames),
                sum(f.key_frame for f in frames), frames[0].height,
                frames[0].width)


def test_resize_resume_and_bad_files(tmp_path):
    src, dst = tmp_path / 'src', tmp_path / 'dst'
    wide = [np.kron(f, np.ones((2, 2, 1), np.uint8))  # 128x192
            for f in numbered_frames(40)]
    encode_video(str(src / 'a' / 'wide.mp4'), wide, codec='h264')
    encode_video(str(src / 'b.webm'), wide, codec='vp9')
    (src / 'broken.mp4').write_bytes(bytes(range(256)) * 8)  # not a video
    argv = [str(src), str(dst), '--short-side', '64', '--gop', '8',
            '--jobs', '2']
    proc = call_tool(['data/resize_videos.py', *argv], check=False)
    assert proc.returncode == 1
    assert '3 videos, 0 already done, 3 to convert' in proc.stdout
    assert 'broken.mp4' in proc.stderr and '1 video(s)' in proc.stderr
    codec, frames, keys, h, w = _probe(str(dst / 'a' / 'wide.mp4'))
    assert (codec, frames, keys, h, w) == ('h264', 40, 5, 64, 96)
    codec, frames, _, h, w = _probe(str(dst / 'b.webm'))
    assert (codec, frames, h, w) == ('vp9', 40, 64, 96)
    assert not (dst / 'broken.mp4').exists()
    assert not [p for p in dst.rglob('*') if '.part' in p.name]

    # Resumed: what is written is skipped, what is missing is redone.
    stamp = os.path.getmtime(dst / 'b.webm')
    (dst / 'a' / 'wide.mp4').unlink()
    (src / 'broken.mp4').unlink()
    proc = call_tool(['data/resize_videos.py', *argv])
    assert '2 videos, 1 already done, 1 to convert' in proc.stdout
    assert os.path.getmtime(dst / 'b.webm') == stamp
    assert _probe(str(dst / 'a' / 'wide.mp4'))[1] == 40


def test_never_upscaled(tmp_path):
    src = tmp_path / 'small.mp4'
    encode_video(str(src), numbered_frames(10), codec='h264')
    from mmaction_aim.datasets.transcode import transcode_video
    assert transcode_video(str(src), str(tmp_path / 'out.mp4'),
                           short_side=256) is None
    assert _probe(str(tmp_path / 'out.mp4'))[3:] == (64, 96)


def _odd_video(path, size='321x241'):
    """A real video of odd size (H.264 in 4:4:4, which allows it), by
    FFmpeg's test source."""
    import subprocess

    from mmaction_aim.utils.video import ffmpeg_exe
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([ffmpeg_exe(), '-loglevel', 'error', '-f', 'lavfi', '-i',
                    f'testsrc=size={size}:rate=10', '-frames:v', '6',
                    '-c:v', 'libx264', '-pix_fmt', 'yuv444p', str(path)],
                   check=True)
    return str(path)


@pytest.mark.parametrize('short_side,size', [(256, (240, 320)),
                                             (100, (100, 134)),
                                             (101, (100, 134))])
def test_odd_sizes_come_out_even(tmp_path, short_side, size):
    """321x241 (short side 241, odd) fails in 4:2:0 as it is: the short
    side is rounded down to even, the long side keeps the aspect ratio."""
    _odd_video(tmp_path / 'src' / 'odd.mp4')
    call_tool(['data/resize_videos.py', str(tmp_path / 'src'),
               str(tmp_path / 'dst'), '--short-side', str(short_side)])
    assert _probe(str(tmp_path / 'dst' / 'odd.mp4'))[1:] == (6, 1) + size


def test_an_ffmpeg_failure_says_its_cause(tmp_path):
    """FFmpeg's last line is often only the consequence ("Nothing was
    written", "Conversion failed!"): the message carries its exit status,
    its first error line (the cause) and its last."""
    from mmaction_aim.datasets.transcode import transcode_video
    src = _odd_video(tmp_path / 'odd.mp4')
    message = transcode_video(src, str(tmp_path / 'out.mp4'), crf=-5)
    assert message.startswith('ffmpeg exited with status ')
    assert "Value -5.000000 for parameter 'crf' out of range" in message
    assert ' ... ' in message and '@ 0x' not in message
    assert not list(tmp_path.glob('out*'))
