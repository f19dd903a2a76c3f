"""Writing real encoded video files (test fixtures, the synthetic demo)."""
import os
from typing import Iterable

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
