"""Choosing a pipeline's decoder: decord's two entries replaced by another
decoder's (what the loader benchmark compares), whether its library loads,
and how each decoder turns a video whose stream has a display matrix.

A phone's portrait video is usually stored landscape with a display matrix
(MP4's ``tkhd``) saying how to turn it. What each decoder does with it
(measured on H.264 MP4 files tagged by ``ffmpeg -display_rotation`` /
``-display_hflip`` / ``-display_vflip``, ``tests/test_decoder_safety.py``):

* decord 0.6.0 (``DecordInit`` / ``DecordDecode``, MMAction2's default)
  reduces the matrix to its angle (FFmpeg's ``av_display_rotation_get``),
  takes it clockwise in whole degrees (truncated) and turns the frames when
  that is exactly 90, 180 or 270; any other angle is ignored
  (:func:`decord_quarter_turns`). Flips are not seen: a left-right flip
  reads as a 180-degree rotation (the frames come out upside down where a
  player shows them mirrored), a top-bottom flip as none (frames as
  stored), and 90 degrees with a flip as 90 degrees.
* torchcodec 0.17 reduces the matrix to the same angle and rounds it to the
  nearest multiple of 90 (:func:`torchcodec_quarter_turns`): decord's frames
  for every multiple of 90 and every flip, other frames for other angles
  (45 degrees: turned by 90, where decord does not turn them).
  ``TorchCodecInit`` refuses such a video.
* PyAV returns the pictures as stored; ``SparseDecode`` turns them as
  decord does, from the matrix on each decoded frame.

So every decoder we offer gives the same frames, bit for bit, or refuses
the video; none mirrors a flipped one (re-encode such videos with
``ffmpeg -i in.mp4 out.mp4``, which applies the matrix, flips included).
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

from ...utils.errors import BadInputError

#: ``decoder`` of :func:`with_decoder` -> the transforms replacing decord's.
DECODERS = {
    'sparse': ('SparseInit', 'SparseDecode'),
    'torchcodec': ('TorchCodecInit', 'TorchCodecDecode'),
}

#: Where each decoder takes ``DecordInit``'s ``num_threads`` (decoding
#: threads): its init (0) or its decode transform (1).
THREADS_AT = {'sparse': 1, 'torchcodec': 0}


def backend_problem(decoder: str) -> Optional[str]:
    """None where ``decoder``'s library loads here, else why not and how to
    fix it, in one sentence (decord: MMAction2's dependency, always
    there)."""
    if decoder == 'sparse':
        from .sparse_decode import pyav_problem
        return pyav_problem()
    if decoder == 'torchcodec':
        from .torchcodec_decode import torchcodec_problem
        return torchcodec_problem()
    return None


def matrix_rotation(matrix: Sequence[int]) -> float:
    """The counter-clockwise angle of a display matrix, in ``[-180, 180]``
    degrees, as FFmpeg's ``av_display_rotation_get`` reads it (0 for a
    degenerate matrix): what decord and torchcodec see of it.

    Args:
        matrix (Sequence[int]): 9 ``int32`` in FFmpeg's layout (16.16 fixed
            point).
    """
    m = [v / 65536 for v in matrix]
    scale = math.hypot(m[0], m[3]), math.hypot(m[1], m[4])
    if not all(scale):
        return 0.
    return -math.degrees(math.atan2(m[1] / scale[1], m[0] / scale[0]))


def decord_quarter_turns(degrees: float) -> int:
    """Counter-clockwise quarter turns decord 0.6.0 gives the frames of a
    stream whose display matrix reads ``degrees`` (:func:`matrix_rotation`):
    its bundled FFmpeg 4.1 writes the clockwise angle into a ``rotate`` tag
    (``%g``), which decord truncates to whole degrees and applies only when
    that is 90, 180 or 270."""
    clockwise = float(f'{-degrees % 360:g}') % 360
    return {90: 3, 180: 2, 270: 1}.get(int(clockwise), 0)


def torchcodec_quarter_turns(degrees: float) -> int:
    """Counter-clockwise quarter turns torchcodec 0.17 gives them:
    ``degrees`` rounded to the nearest multiple of 90 (half away from zero,
    C++'s ``std::round``)."""
    return int(math.copysign(math.floor(abs(degrees) / 90 + .5),
                             degrees)) % 4


def _carried(init: dict, decode: dict, decoder: str) -> Tuple[dict, dict]:
    """``decoder``'s pair, with the arguments of decord's ``init`` and
    ``decode`` entries that it honours; any other is refused."""
    init_args = {k: v for k, v in init.items() if k != 'type'}
    decode_args = {k: v for k, v in decode.items() if k != 'type'}
    num_threads = init_args.pop('num_threads', None)
    if init_args.get('io_backend', 'disk') == 'disk':
        init_args.pop('io_backend', None)
    if decode_args.get('mode', 'accurate') == 'accurate':
        decode_args.pop('mode', None)
    name = DECODERS[decoder]
    if init_args:
        raise BadInputError(
            f'decoder={decoder!r}: {name[0]} opens local files itself and '
            f'cannot honour DecordInit({_listed(init_args)})')
    if decode_args:
        raise BadInputError(
            f'decoder={decoder!r}: {name[1]} decodes exactly the sampled '
            f'frames and has no equivalent of DecordDecode('
            f"{_listed(decode_args)}) (mode='efficient' returns keyframes "
            'near them)')
    pair = dict(type=name[0]), dict(type=name[1])
    if num_threads is not None:
        pair[THREADS_AT[decoder]]['num_threads'] = num_threads
    return pair


def _listed(args: dict) -> str:
    return ', '.join(f'{k}={v!r}' for k, v in args.items())


def with_decoder(pipeline: List[dict], decoder: str) -> List[dict]:
    """``pipeline`` with its decord pair replaced.

    The arguments of ``DecordInit`` / ``DecordDecode`` go over where the new
    decoder means the same by them: ``num_threads`` (decoding threads) to
    ``SparseDecode`` or ``TorchCodecInit``; ``io_backend='disk'`` and
    ``mode='accurate'`` are what both decoders do. Any other (a remote
    ``io_backend`` and its file-client arguments, ``mode='efficient'``) is
    refused rather than dropped.

    Args:
        pipeline (list[dict]): Transform configs with ``DecordInit`` and
            ``DecordDecode``.
        decoder (str): ``'decord'`` (as is), ``'sparse'``
            (:class:`SparseInit` / :class:`SparseDecode`) or
            ``'torchcodec'`` (``TorchCodecInit`` / ``TorchCodecDecode``).

    Returns:
        list[dict]: The new pipeline (the other entries the same objects).

    Raises:
        BadInputError: An unknown decoder, a pipeline without decord's
            pair, or an argument of it the new decoder cannot honour.
    """
    if decoder == 'decord':
        return list(pipeline)
    if decoder not in DECODERS:
        raise BadInputError(f"decoder: 'decord' or one of "
                            f'{sorted(DECODERS)}, got {decoder!r}')
    found: Dict[str, dict] = {t['type']: t for t in pipeline
                              if isinstance(t, dict) and t.get('type') in
                              ('DecordInit', 'DecordDecode')}
    if len(found) < 2:
        raise BadInputError(
            f'decoder={decoder!r} replaces DecordInit and DecordDecode, but '
            'the pipeline has '
            f'{[t.get("type") for t in pipeline if isinstance(t, dict)]}')
    init, decode = _carried(found['DecordInit'], found['DecordDecode'],
                            decoder)
    swap = {'DecordInit': init, 'DecordDecode': decode}
    return [swap.get(t.get('type'), t) if isinstance(t, dict) else t
            for t in pipeline]
