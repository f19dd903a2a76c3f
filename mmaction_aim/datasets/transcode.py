"""Re-encoding videos to a smaller size and a chosen keyframe interval.

Decoding is nearly all of a video loader's time, and it grows with the
frame size: the original AIM trained on Kinetics copies resized to short
side 256 (its ``train_256``). :func:`transcode_video` writes such a copy with
the FFmpeg binary of ``imageio-ffmpeg``; ``tools/data/resize_videos.py``
runs it over a dataset, resumable.
"""
import os
import os.path as osp
import subprocess
from typing import List, Optional

from ..utils.video import ENCODERS, ffmpeg_exe


def transcode_command(src: str, dst: str, short_side: int = 256,
                      gop: Optional[int] = None, crf: Optional[int] = None,
                      threads: int = 1) -> List[str]:
    """The FFmpeg command writing ``dst`` from ``src``: frames scaled down
    (never up) to ``short_side`` keeping the aspect ratio (even sizes),
    every frame kept at its timestamp, no audio; H.264 in MP4, VP9 in WebM
    (by ``dst``'s extension).

    Args:
        src (str): The video.
        dst (str): Where to write (its extension picks the codec).
        short_side (int): The shorter side after scaling. Defaults to 256.
        gop (int, optional): Keyframe interval; None: the encoder's.
        crf (int, optional): Quality (lower is better); None: 18 (H.264),
            30 (VP9).
        threads (int): FFmpeg threads. Defaults to 1.
    """
    codec = 'vp9' if dst.lower().endswith('.webm') else 'h264'
    encoder = list(ENCODERS[codec])
    if crf is not None:
        encoder[encoder.index('-crf') + 1] = str(crf)
    s = int(short_side)
    scale = (f"scale='if(lt(iw,ih),min(iw,{s}),-2)':"
             f"'if(lt(iw,ih),-2,min(ih,{s}))'")
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
        str | None: None, or why ``src`` could not be transcoded.
    """
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
        lines = proc.stderr.strip().splitlines()
        return lines[-1] if lines else 'ffmpeg wrote nothing'
    os.replace(part, dst)
    return None
