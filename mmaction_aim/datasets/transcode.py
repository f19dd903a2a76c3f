"""Re-encoding videos to a smaller size and a chosen keyframe interval.

Decoding is nearly all of a video loader's time, and it grows with the
frame size: the original AIM trained on Kinetics copies resized to short
side 256 (its ``train_256``). :func:`transcode_video` writes such a copy with
the FFmpeg binary of ``imageio-ffmpeg``; ``tools/data/resize_videos.py``
runs it over a dataset, resumable.
"""
import os
import os.path as osp
import re
import subprocess
from typing import List, Optional

from ..utils.video import ENCODERS, ffmpeg_exe

#: The largest ``crf`` each encoder takes (x264 in 8 bits: 51; libvpx: 63).
MAX_CRF = {'h264': 51, 'vp9': 63}


def codec_of(dst: str) -> str:
    """The codec a copy named ``dst`` is written in: VP9 for ``.webm``,
    H.264 otherwise."""
    return 'vp9' if dst.lower().endswith('.webm') else 'h264'


def check_crf(crf: Optional[int], codec: str) -> None:
    """Raise ``ValueError`` unless ``crf`` is None or within the encoder's
    range (0 to :data:`MAX_CRF`)."""
    if crf is not None and not 0 <= crf <= MAX_CRF[codec]:
        name = {'h264': 'H.264 (x264)', 'vp9': 'VP9 (libvpx)'}[codec]
        raise ValueError(f'crf {crf} is outside the 0-{MAX_CRF[codec]} '
                         f'that {name} takes')


def transcode_command(src: str, dst: str, short_side: int = 256,
                      gop: Optional[int] = None, crf: Optional[int] = None,
                      threads: int = 1) -> List[str]:
    """The FFmpeg command writing ``dst`` from ``src``: frames scaled down
    (never up) to ``short_side`` keeping the aspect ratio, every frame kept
    at its timestamp, no audio; H.264 in MP4, VP9 in WebM (by ``dst``'s
    extension).

    Both sides come out even, as 4:2:0 chroma (``yuv420p``) needs: the
    short side is ``short_side``, or the source's where that is smaller,
    rounded down to even (a 321x241 source at 256 becomes 320x240; an odd
    ``short_side`` loses a pixel); the long side keeps the aspect ratio,
    rounded to even (FFmpeg's ``-2``).

    Args:
        src (str): The video.
        dst (str): Where to write (its extension picks the codec).
        short_side (int): The shorter side after scaling (at least 2).
            Defaults to 256.
        gop (int, optional): Keyframe interval; None: the encoder's.
        crf (int, optional): Quality (lower is better): 0-51 for H.264,
            0-63 for VP9 (:func:`check_crf`; not checked here, FFmpeg
            refuses others); None: 18 (H.264), 30 (VP9).
        threads (int): FFmpeg threads. Defaults to 1.

    Raises:
        ValueError: ``short_side`` below 2.
    """
    s = int(short_side)
    if s < 2:
        raise ValueError(f'short_side must be at least 2, got {short_side}')
    codec = codec_of(dst)
    encoder = list(ENCODERS[codec])
    if crf is not None:
        encoder[encoder.index('-crf') + 1] = str(crf)
    # The short side: ``s`` or the source's if smaller, rounded down to even.
    width, height = (f'trunc(min({side},{s})/2)*2' for side in ('iw', 'ih'))
    scale = f"scale='if(lt(iw,ih),{width},-2)':'if(lt(iw,ih),-2,{height})'"
    cmd = [ffmpeg_exe(), '-y', '-loglevel', 'error', '-threads', str(threads),
           '-i', src, '-map', '0:v:0', '-vf', scale, '-fps_mode',
           'passthrough', *encoder, '-an']
    if gop is not None:
        cmd += ['-g', str(gop)]
    return cmd + ['-threads', str(threads), dst]


def transcode_video(src: str, dst: str, **kwargs) -> Optional[str]:
    """Write ``dst`` (atomically: a partial file never has its name).

    Args:
        src (str): The video.
        dst (str): The copy.
        **kwargs: Of :func:`transcode_command`.

    Returns:
        str | None: None, or why ``src`` could not be transcoded (for
        FFmpeg's failures: its exit status, its first error line, which
        usually names the cause, and its last).
    """
    if osp.isdir(src):
        return 'a directory, not a video'
    if not osp.isfile(src):
        return 'missing'
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    stem, ext = osp.splitext(dst)
    part = f'{stem}.part{ext}'
    proc = subprocess.run(transcode_command(src, part, **kwargs),
                          capture_output=True, text=True)
    if proc.returncode or not osp.isfile(part) or not osp.getsize(part):
        if osp.exists(part):
            os.remove(part)
        return ffmpeg_failure(proc.returncode, proc.stderr)
    os.replace(part, dst)
    return None


def ffmpeg_failure(returncode: int, stderr: str) -> str:
    """One line for a failed FFmpeg run: its exit status, its first error
    line and its last (the first names the cause, e.g. ``height not
    divisible by 2``; the last is often only ``Conversion failed!``),
    without FFmpeg's ``@ 0x...`` addresses."""
    lines = [re.sub(r' @ 0x[0-9a-f]+', '', line).strip()
             for line in stderr.strip().splitlines() if line.strip()]
    if not lines:
        return f'ffmpeg exited with status {returncode} and wrote nothing'
    said = lines[0] if len(lines) == 1 else f'{lines[0]} ... {lines[-1]}'
    return f'ffmpeg exited with status {returncode}: {said}'
