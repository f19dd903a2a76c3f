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
