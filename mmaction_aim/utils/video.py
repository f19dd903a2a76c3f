"""Writing real encoded video files (test fixtures, the synthetic demo):
OpenCV's MPEG-4 part 2 (:func:`write_video`) and, through the FFmpeg binary
of ``imageio-ffmpeg``, the codecs datasets use (:func:`encode_video`:
H.264 with B-frames and long GOPs as Kinetics, VP9 WebM as
Something-Something v2, variable frame rates) and display matrices as
phones write them (:func:`tag_display_matrix`)."""
import os
import subprocess
from typing import Iterable, Optional, Sequence, Tuple

import numpy as np


def write_video(path: str, frames: Iterable[np.ndarray], fps: float = 10.0,
                fourcc: str = 'mp4v') -> str:
    """Encode RGB frames into a video file that decord can read back.

    Args:
        path (str): Output file (``.mp4`` for the default ``mp4v`` codec).
        frames (Iterable[np.ndarray]): ``uint8`` RGB frames of shape
            ``[H, W, 3]``, all of the same size.
        fps (float): Frame rate stored in the container. Defaults to 10.
        fourcc (str): OpenCV codec code. Defaults to ``'mp4v'`` (MPEG-4
            part 2), which every decord/FFmpeg build decodes.

    Returns:
        str: ``path``.

    Note:
        decord 0.6.0 cannot decode some small ``mp4v`` frame widths that
        OpenCV writes (seen: 16, 24, 48 and 72 pixels); 32, 64 and widths
        of 96 and more read back fine.
    """
    import cv2

    frames = list(frames)
    if not frames:
        raise ValueError(f'No frames given for {path!r}')
    height, width = frames[0].shape[:2]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), fps,
                             (width, height))
    if not writer.isOpened():
        raise RuntimeError(
            f'OpenCV cannot open a {fourcc!r} writer for {path!r}')
    try:
        for frame in frames:
            if frame.shape != (height, width, 3) or frame.dtype != np.uint8:
                raise ValueError(
                    f'Every frame must be uint8 [{height}, {width}, 3], got '
                    f'{frame.dtype} {list(frame.shape)}')
            writer.write(np.ascontiguousarray(frame[..., ::-1]))  # RGB -> BGR
    finally:
        writer.release()
    return path


#: ``codec`` of :func:`encode_video` -> FFmpeg encoder arguments.
ENCODERS = {
    # x264 with its defaults' structure: B-frames, a long GOP.
    'h264': ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18',
             '-pix_fmt', 'yuv420p'],
    'vp9': ['-c:v', 'libvpx-vp9', '-b:v', '0', '-crf', '30', '-deadline',
            'realtime', '-cpu-used', '8', '-pix_fmt', 'yuv420p'],
    'mpeg4': ['-c:v', 'mpeg4', '-q:v', '3', '-pix_fmt', 'yuv420p'],
}


def ffmpeg_exe() -> str:
    """The FFmpeg binary ``imageio-ffmpeg`` ships (with libx264 and
    libvpx), so that no system package is needed."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:
        raise RuntimeError(
            'encoding videos needs the FFmpeg binary of imageio-ffmpeg: '
            '`pip install imageio-ffmpeg`') from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


def _vfr_pts(segments) -> str:
    """An FFmpeg ``setpts`` expression giving ``segments`` (``(frames,
    fps)`` pairs, in order) their own frame rates."""
    expr, start, t0 = None, 0, 0.0
    pieces = []
    for count, fps in segments:
        pieces.append((start, start + count, t0, fps))
        t0 += count / fps
        start += count
    for lo, hi, t, fps in reversed(pieces):
        here = f'({t}+(N-{lo})/{fps})'
        expr = here if expr is None else f'if(lt(N,{hi}),{here},{expr})'
    # Commas separate filters in a filter graph: escaped in the expression.
    return 'setpts=' + f'({expr})/TB'.replace(',', '\\,')


def encode_video(path: str, frames: Iterable[np.ndarray], fps: float = 30.,
                 codec: str = 'h264', gop: Optional[int] = None,
                 bframes: Optional[int] = None,
                 vfr: Optional[Sequence[Tuple[int, float]]] = None) -> str:
    """Encode RGB frames with a real codec through FFmpeg.

    Args:
        path (str): Output file (``.mp4`` for H.264 and MPEG-4, ``.webm``
            for VP9).
        frames (Iterable[np.ndarray]): ``uint8`` RGB ``[H, W, 3]`` frames of
            one even size.
        fps (float): Frame rate. Defaults to 30.
        codec (str): ``'h264'`` (libx264), ``'vp9'`` (libvpx-vp9) or
            ``'mpeg4'``. Defaults to ``'h264'``.
        gop (int, optional): Keyframe interval (``-g``); None: the
            encoder's (250 for x264, as K400 clips have).
        bframes (int, optional): B-frames between references (H.264
            ``-bf``); None: the encoder's (3 for x264).
        vfr (Sequence[tuple[int, float]], optional): A variable frame rate:
            ``(frames, fps)`` segments in order, covering every frame.

    Returns:
        str: ``path``.
    """
    frames = list(frames)
    if not frames:
        raise ValueError(f'No frames given for {path!r}')
    if codec not in ENCODERS:
        raise ValueError(f'codec: one of {sorted(ENCODERS)}, got {codec!r}')
    height, width = frames[0].shape[:2]
    if height % 2 or width % 2:
        raise ValueError(f'{codec} in yuv420p needs even sizes, got '
                         f'{width}x{height}')
    if vfr is not None and sum(n for n, _ in vfr) != len(frames):
        raise ValueError('vfr segments must cover every frame')
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    cmd = [ffmpeg_exe(), '-y', '-loglevel', 'error', '-f', 'rawvideo',
           '-pix_fmt', 'rgb24', '-s', f'{width}x{height}', '-r', str(fps),
           '-i', 'pipe:0', *ENCODERS[codec]]
    if gop is not None:
        cmd += ['-g', str(gop)]
    if bframes is not None:
        cmd += ['-bf', str(bframes)]
    if vfr is not None:
        cmd += ['-vf', _vfr_pts(vfr), '-fps_mode', 'vfr']
    data = b''.join(np.ascontiguousarray(f, dtype=np.uint8).tobytes()
                    for f in frames)
    proc = subprocess.run(cmd + [path], input=data, capture_output=True)
    if proc.returncode:
        raise RuntimeError(f'ffmpeg could not write {path}: '
                           f'{proc.stderr.decode(errors="replace")[-500:]}')
    return path


def tag_display_matrix(src: str, dst: str, rotation: float = 0.,
                       hflip: bool = False, vflip: bool = False) -> str:
    """Copy a video with a display matrix on its stream, as phones write
    portrait videos: the pictures unchanged (``-c copy``), a player turns
    them.

    Args:
        src (str): An MP4 file.
        dst (str): The copy (``.mp4``).
        rotation (float): Counter-clockwise degrees (FFmpeg's
            ``-display_rotation``). Defaults to 0.
        hflip (bool): Mirror left-right too (``-display_hflip``). Defaults
            to False.
        vflip (bool): Mirror top-bottom too (``-display_vflip``). Defaults
            to False.

    Returns:
        str: ``dst``.
    """
    tags = ['-display_rotation', str(rotation)] if rotation else []
    tags += ['-display_hflip'] * hflip + ['-display_vflip'] * vflip
    proc = subprocess.run([ffmpeg_exe(), '-y', '-loglevel', 'error', *tags,
                           '-i', src, '-c', 'copy', dst],
                          capture_output=True)
    if proc.returncode:
        raise RuntimeError(f'ffmpeg could not write {dst}: '
                           f'{proc.stderr.decode(errors="replace")[-500:]}')
    return dst


def distinct_frames(source, keys: Iterable) -> list:
    """``source[k]`` for each of ``keys``, each its own array: a key met
    again gets a copy, as decord gives a frame sampled twice (MMAction2's
    ``Flip`` and others work in place, frame by frame).

    Args:
        source: Frames by key (a list, or a dict).
        keys: The keys, in the order wanted (repeats allowed).
    """
    given = set()
    return [source[k].copy() if k in given or given.add(k) else source[k]
            for k in keys]
