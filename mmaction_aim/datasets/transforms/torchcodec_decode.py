"""Decoding with torchcodec, PyTorch's maintained video decoder.

decord, which MMAction2 and the original AIM read videos with, has had no
release since 2021. torchcodec decodes on the CPU with FFmpeg's libraries
(``num_ffmpeg_threads``, ``seek_mode``) and on NVIDIA GPUs with NVDEC
(``device='cuda'``). Select it in any config by replacing two entries::

    dict(type='TorchCodecInit'), dict(type='SampleFrames', ...),
    dict(type='TorchCodecDecode'), ...

torchcodec's CPU wheel needs FFmpeg 4-9 shared libraries: the system's
(``apt install ffmpeg`` or conda's ``ffmpeg``), or those of PyAV's wheel,
which ``tools/setup_env.sh`` puts on ``LD_LIBRARY_PATH`` (and into
``.venv/bin/activate``, so that activating ``.venv`` is enough). Where it
cannot be loaded, ``TorchCodecInit`` says so when it is built, in one
warning per process naming what is missing, and decodes with decord
instead (the same frames); ``tools/analysis/loader_benchmark.py`` refuses
to measure it there.

torchcodec turns frames by the stream's display matrix as decord does for
multiples of 90 degrees and flips; a video with another angle, which the
two turn differently, is refused (:mod:`.decoders`).
"""
import functools
import os
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mmaction.registry import TRANSFORMS
from ..pipeline import DECODE, OPEN
from .decoders import decord_quarter_turns, torchcodec_quarter_turns


#: A two-frame H.264 file: decoding it proves torchcodec works here.
PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'probe.mp4')


@functools.lru_cache(maxsize=None)
def torchcodec_problem() -> Optional[str]:
    """None where torchcodec decodes here (a two-frame H.264 probe file),
    else why not, in one line (torchcodec loads FFmpeg's shared libraries
    on first use, not on import)."""
    try:
        from torchcodec.decoders import VideoDecoder
    except ImportError as exc:
        return f'torchcodec is not installed ({exc})'
    try:
        VideoDecoder(PROBE).get_frames_at(indices=[0, 1])
    except Exception as exc:  # noqa: BLE001  (any failure: fall back)
        lines = [x.strip() for x in str(exc).splitlines() if x.strip()]
        missing = [x for x in lines if 'cannot open shared object' in x]
        cause = (missing[0] if missing else lines[0] if lines else
                 type(exc).__name__)[:200]
        return (f'torchcodec cannot decode here ({cause}): it needs FFmpeg '
                '4-9 shared libraries, which `source tools/setup_env.sh` '
                "finds in PyAV's wheel (or install ffmpeg from the system "
                'or conda)')
    return None


def _fallback_once(problem: str) -> None:
    """Say once per process that decord decodes in torchcodec's place."""
    if not getattr(_fallback_once, 'said', False):
        print_log(f'TorchCodecInit/TorchCodecDecode decode with decord, not '
                  f'torchcodec: {problem}', logger='current', level=30)
        _fallback_once.said = True


@TRANSFORMS.register_module()
class TorchCodecInit(BaseTransform):
    """Open a video with torchcodec's ``VideoDecoder``.

    Required keys: ``filename``. Added keys: ``video_reader``,
    ``total_frames``, ``avg_fps``.

    Where torchcodec does not load here, decord's ``DecordInit`` stands in
    (a warning once per process, when built). A video whose display matrix
    torchcodec turns otherwise than decord (an angle that is not a multiple
    of 90 degrees) is refused with a ``ValueError``.

    Args:
        seek_mode (str): ``'exact'`` (a scan of the file gives exact frame
            positions) or ``'approximate'`` (from the header: faster to
            open). Defaults to ``'exact'``.
        num_threads (int): FFmpeg threads. Defaults to 1.
        device (str): ``'cpu'`` or ``'cuda'`` (NVDEC). Defaults to
            ``'cpu'``.
    """

    video_role = OPEN

    def __init__(self, seek_mode: str = 'exact', num_threads: int = 1,
                 device: str = 'cpu') -> None:
        self.seek_mode = seek_mode
        self.num_threads = num_threads
        self.device = device
        self._decord = TRANSFORMS.build(dict(type='DecordInit',
                                             num_threads=num_threads))
        self._check()

    def _check(self) -> bool:
        """Whether torchcodec decodes here; else decord stands in (said
        once per process), or, on a GPU, an ``ImportError``."""
        problem = torchcodec_problem()
        if problem is not None:
            if self.device != 'cpu':
                raise ImportError(f'TorchCodecInit(device={self.device!r}):'
                                  f' {problem}')
            _fallback_once(problem)
        return problem is None

    def transform(self, results: dict) -> dict:
        if not self._check():
            return self._decord(results)
        from torchcodec.decoders import VideoDecoder
        reader = VideoDecoder(results['filename'], seek_mode=self.seek_mode,
                              num_ffmpeg_threads=self.num_threads,
                              device=self.device, dimension_order='NHWC')
        angle = reader.metadata.rotation or 0.
        turns = torchcodec_quarter_turns(angle), decord_quarter_turns(angle)
        if turns[0] != turns[1]:
            raise ValueError(
                f'{results["filename"]} has a display rotation of {angle:g} '
                f'degrees, which torchcodec turns by {90 * turns[0]} and '
                f'decord (the default decoder) by {90 * turns[1]}: refused '
                'so that both train on the same frames (re-encode it '
                'upright: ffmpeg -i in.mp4 out.mp4)')
        results['video_reader'] = reader
        results['total_frames'] = len(reader)
        results['avg_fps'] = reader.metadata.average_fps
        return results


@TRANSFORMS.register_module()
class TorchCodecDecode(BaseTransform):
    """The frames of ``frame_inds`` from :class:`TorchCodecInit`'s reader.

    Indices are decoded in sorted order (each once) and returned in
    ``frame_inds`` order, as ``DecordDecode`` returns them.

    Required keys: ``video_reader``, ``frame_inds``. Added keys: ``imgs``
    (RGB ``uint8`` arrays, turned by the display matrix; on the GPU's
    memory copied to the host), ``original_shape``, ``img_shape`` (the
    turned frames').
    """

    video_role = DECODE

    def __init__(self) -> None:
        self._decord = TRANSFORMS.build(dict(type='DecordDecode'))

    def transform(self, results: dict) -> dict:
        reader = results['video_reader']
        if not _is_torchcodec(reader):
            return self._decord(results)  # TorchCodecInit fell back
        inds = np.asarray(results['frame_inds']).reshape(-1) % len(reader)
        unique, where = np.unique(inds, return_inverse=True)  # sorted
        batch = reader.get_frames_at(indices=unique.tolist()).data
        frames = batch.cpu().numpy()  # [N, H, W, 3]
        results['imgs'] = [frames[i] for i in where]
        results['original_shape'] = frames.shape[1:3]
        results['img_shape'] = frames.shape[1:3]
        results.pop('video_reader')
        return results


def _is_torchcodec(reader) -> bool:
    return type(reader).__module__.startswith('torchcodec')
