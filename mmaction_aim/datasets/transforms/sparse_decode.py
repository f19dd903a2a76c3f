"""Decode only what the sampled frames depend on (PyAV).

A training clip of 8 frames every 16 from a Kinetics video with one
keyframe per 250 frames asks the decoder for 8 pictures but makes decord
decode every picture from the keyframe to the last one sampled: most of
them B-frames that no other picture refers to. :class:`SparseDecode` tells
FFmpeg to skip every non-reference picture that is not sampled (its
``skip_frame``, set per packet), and jumps to the keyframe before a sampled
frame when that is ahead of where decoding is. Reference pictures are always
decoded, so every sampled frame is exactly the frame a full decode gives
(tested against decord's).

The file is opened and read once: :class:`SparseInit` keeps the packets it
indexes (a few MB for a 10-s clip) and the open decoder for
:class:`SparseDecode`, which feeds the packets it needs from memory.

PyAV returns pictures as stored; a stream with a display matrix (a
rotated phone video) has its frames turned as decord turns them, by the
matrix each decoded frame carries (:mod:`.decoders` says what decord does:
90, 180 and 270 degrees, no flips).

Use it in place of ``DecordInit`` / ``DecordDecode``::

    dict(type='SparseInit'), dict(type='SampleFrames', ...),
    dict(type='SparseDecode'), ...
"""
import bisect
import struct
from typing import List, Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS
from ..pipeline import DECODE, OPEN
from ...utils.video import distinct_frames
from .decoders import decord_quarter_turns, matrix_rotation


def pyav_problem() -> Optional[str]:
    """None where PyAV imports, else why not and the fix, in one
    sentence."""
    try:
        import av  # noqa: F401
    except ImportError as exc:
        return (f'SparseInit / SparseDecode decode with PyAV, which does not '
                f'import here ({exc}): `pip install av` (a dependency of '
                f'mmaction-aim: `pip install -e .`)')
    return None


def _av():
    problem = pyav_problem()
    if problem:
        raise ImportError(problem)
    import av
    return av


def display_angle(frame, stream) -> float:
    """The counter-clockwise degrees of a stream's display matrix, as
    FFmpeg's ``av_display_rotation_get`` reads it: PyAV 14 and later (18
    tested) give the matrix on each decoded frame, PyAV 12-13 the angle in
    ``stream.side_data``; 0 without one."""
    for side in frame.side_data:
        if side.type.name == 'DISPLAYMATRIX':
            return matrix_rotation(struct.unpack('=9i', bytes(side)[:36]))
    return getattr(stream, 'side_data', {}).get('DISPLAYMATRIX', 0.)


def upright(frame, stream) -> np.ndarray:
    """A decoded PyAV frame of ``stream`` in RGB, turned as decord turns it
    (:func:`.decoders.decord_quarter_turns`)."""
    rgb = frame.to_ndarray(format='rgb24')
    turns = decord_quarter_turns(display_angle(frame, stream))
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


class IndexedVideo:
    """A video's packets in decoding order, read once, and its decoder.

    Attributes:
        container: The open PyAV container (closed by :meth:`close`).
        stream: Its first video stream.
        codec: The video stream's decoder.
        packets (list): Every packet of the stream that carries data.
        keyframe_packets (dict): pts of each keyframe -> its position in
            ``packets``.
    """

    def __init__(self, filename: str) -> None:
        av = _av()
        self.container = av.open(filename)
        self.stream = stream = self.container.streams.video[0]
        self.codec = stream.codec_context
        self.rate = stream.average_rate
        self.packets = [p for p in self.container.demux(stream) if p.size]
        self.keyframe_packets = {p.pts: i for i, p in enumerate(self.packets)
                                 if p.is_keyframe and p.pts is not None}

    def close(self) -> None:
        self.container.close()


@TRANSFORMS.register_module()
class SparseInit(BaseTransform):
    """Index a video's pictures without decoding them.

    Reads the packets of the first video stream once (demuxing only) and
    keeps them for :class:`SparseDecode`: the presentation timestamps in
    display order (frame ``i`` is the ``i``-th) and the keyframes'.
    ``total_frames`` counts every picture, WebM included (whose header has
    no frame count).

    Required keys: ``filename``. Added keys: ``total_frames``,
    ``frame_pts``, ``keyframe_pts``, ``avg_fps``, ``sparse_video`` (the
    packets and the open decoder; :class:`SparseDecode` closes it).

    Raises:
        ImportError: When built, where PyAV does not import (every video
            would fail).
    """

    video_role = OPEN

    def __init__(self) -> None:
        _av()

    def transform(self, results: dict) -> dict:
        video = IndexedVideo(results['filename'])
        pts = sorted(p.pts for p in video.packets if p.pts is not None)
        results['frame_pts'] = pts
        results['keyframe_pts'] = sorted(video.keyframe_packets)
        results['total_frames'] = len(pts)
        results['avg_fps'] = float(video.rate) if video.rate else None
        results['sparse_video'] = video
        return results


@TRANSFORMS.register_module()
class SparseDecode(BaseTransform):
    """The frames of ``frame_inds``, decoding only what they depend on.

    Required keys: ``filename``, ``frame_inds``, ``frame_pts``,
    ``keyframe_pts`` (:class:`SparseInit`; ``sparse_video`` is used and
    removed when present, else the file is read again). Added keys:
    ``imgs`` (RGB ``uint8``, in ``frame_inds`` order, repeats included,
    turned by the display matrix as decord turns them), ``original_shape``,
    ``img_shape`` (the turned frames'), ``decoded_pictures`` (how many the
    decoder produced).

    Args:
        num_threads (int): Decoder threads. Defaults to 1 (a dataloader
            worker's core).
        skip_nonref (bool): Skip non-reference pictures that are not
            sampled. False decodes every picture on the way (for
            comparison). Defaults to True.
    """

    video_role = DECODE

    def __init__(self, num_threads: int = 1, skip_nonref: bool = True) -> None:
        self.num_threads = num_threads
        self.skip_nonref = skip_nonref

    def transform(self, results: dict) -> dict:
        pts = results['frame_pts']
        sampled = [pts[i] for i in np.mod(
            np.asarray(results['frame_inds']).reshape(-1), len(pts))]
        video = results.pop('sparse_video', None) or IndexedVideo(
            results['filename'])
        try:
            frames, decoded = self._decode(video, set(sampled),
                                           results['keyframe_pts'],
                                           results['filename'])
        finally:
            video.close()
        imgs = distinct_frames(frames, sampled)
        results['imgs'] = imgs
        results['original_shape'] = imgs[0].shape[:2]
        results['img_shape'] = imgs[0].shape[:2]
        results['decoded_pictures'] = decoded
        return results

    def _decode(self, video: IndexedVideo, wanted: set, keys: List[int],
                filename: str):
        """pts -> RGB frame of every ``wanted`` picture (pts), and how many
        pictures were decoded (``keys``: the keyframes' pts)."""
        codec = video.codec
        codec.thread_type = 'AUTO' if self.num_threads > 1 else 'NONE'
        codec.thread_count = self.num_threads
        state = dict(next=None, decoded=0, skip=None)  # next: packet to feed
        frames = {}
        for target in sorted(wanted):
            if target in frames:
                continue
            key = keys[max(bisect.bisect_right(keys, target) - 1, 0)]
            start = video.keyframe_packets[key]
            if state['next'] is None or start > state['next']:
                self._restart(codec, state, start)  # jump to the keyframe
            if not self._decode_until(video, state, target, wanted,
                                      frames):
                # Not met on the way: once more from its keyframe.
                self._restart(codec, state, start)
                if not self._decode_until(video, state, target, wanted,
                                          frames):
                    raise RuntimeError(f'{target} (pts) not found in '
                                       f'{filename}')
        return frames, state['decoded']

    @staticmethod
    def _restart(codec, state: dict, start: int) -> None:
        """Forget the decoder's pictures and go on from packet ``start``
        (a keyframe)."""
        codec.flush_buffers()
        state['next'] = start

    def _decode_until(self, video: IndexedVideo, state: dict, target: int,
                      wanted: set, frames: dict) -> bool:
        """Feed packets from ``state['next']`` until ``target`` is among
        ``frames`` (True), keeping every wanted picture met; False at the
        end of the stream without it."""
        packets, codec = video.packets, video.codec
        while state['next'] <= len(packets):
            if state['next'] == len(packets):  # the end: drain the decoder
                state['next'] += 1
                out = codec.decode(None)
            else:
                packet = packets[state['next']]
                state['next'] += 1
                if self.skip_nonref:
                    skip = 'DEFAULT' if packet.pts is None or \
                        packet.pts in wanted else 'NONREF'
                    if skip != state['skip']:
                        codec.skip_frame = state['skip'] = skip
                out = codec.decode(packet)
            for frame in out:
                state['decoded'] += 1
                if frame.pts in wanted and frame.pts not in frames:
                    frames[frame.pts] = upright(frame, video.stream)
            if target in frames:
                return True
        return False

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_threads={self.num_threads}, '
                f'skip_nonref={self.skip_nonref})')
