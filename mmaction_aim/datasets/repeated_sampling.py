"""Repeated sampling: several training clips from one opening of a video.

Decoding is nearly all of a video loader's time. VideoMAE and MAE-ST train
on several clips per video read: the video is opened once, ``num_repeats``
clips are sampled from it, the frames of all of them are decoded in one
pass, and each clip goes through the augmentations on its own.
:func:`prepare_repeats` does this for a dataset's pipeline, whatever its
decoder (decord, ``SparseDecode``, torchcodec ...): the pipeline is split
into its opening transform (``...Init``), its frame sampler and its decoding
transform, which must follow each other. The clips' frames are decoded once
each, in increasing order (decord, given one clip's frames after another's,
goes back to a keyframe and decodes again).

Each clip's frames are drawn as a single clip's are (the same sampler,
independently), so a clip's distribution of sampled frames is unchanged; the
clips of one batch are no longer of distinct videos. ``sample_once`` (as
VideoMAE does) gives every repeat the same frames and only different
augmentations: one decode for all of them.
"""
from typing import Any, Callable, List, NamedTuple, Optional, Sequence

import numpy as np

from ..utils.video import distinct_frames


class PipelineSplit(NamedTuple):
    """Positions in a pipeline: the opening, sampling and decoding
    transforms."""
    init: int
    sampler: int
    decode: int


def split_pipeline(transforms: Sequence[Any],
                   decodes_video: Callable[[Any], bool],
                   samplers: Sequence[str]) -> PipelineSplit:
    """Find the opening transform, the frame sampler right after it and the
    decoding transform right after that.

    Args:
        transforms: A built pipeline's transforms.
        decodes_video: Whether a transform opens or decodes the video.
        samplers: Names of frame-sampling transforms.

    Raises:
        ValueError: naming the pipeline, where it is not ``Init``, sampler,
            ``Decode`` in a row.
    """
    names = [type(t).__name__ for t in transforms]
    opening = [i for i, t in enumerate(transforms) if decodes_video(t)]
    if len(opening) >= 2 and opening[1] == opening[0] + 2 and \
            names[opening[0] + 1] in samplers:
        return PipelineSplit(opening[0], opening[0] + 1, opening[1])
    raise ValueError(
        'num_repeats > 1 decodes the frames of several clips at once: the '
        'pipeline must open the video, sample frames and decode them in '
        'three consecutive transforms (e.g. DecordInit, SampleFrames, '
        f'DecordDecode, or SparseInit, SampleFrames, SparseDecode); got '
        f'{names}')


def prepare_repeats(data: dict, transforms: Sequence[Callable],
                    split: PipelineSplit, num_repeats: int,
                    sample_once: bool,
                    run_decoding: Callable[[Callable, dict], Optional[dict]]
                    ) -> Optional[List[dict]]:
    """``num_repeats`` results of a pipeline for one video, opened and
    decoded once.

    Args:
        data (dict): The sample's data info.
        transforms: The pipeline's transforms.
        split (PipelineSplit): Where its opening, sampler and decoder are.
        num_repeats (int): Clips to draw.
        sample_once (bool): Sample once and augment the same frames
            ``num_repeats`` times.
        run_decoding: Runs a decoding transform on data (the dataset's
            bad-video policy: None for a video to skip).

    Returns:
        list[dict] | None: One result per clip; None where a transform gave
        None (a skipped video).
    """
    for transform in transforms[:split.init]:
        data = transform(data)
        if data is None:
            return None
    opened = run_decoding(transforms[split.init], data)
    if opened is None:
        return None
    sampler = transforms[split.sampler]
    first = sampler(dict(opened))
    clips = [_drawn(first, opened)] + [
        _drawn(first if sample_once else sampler(dict(opened)), opened)
        for _ in range(num_repeats - 1)]
    # Each frame decoded once, in increasing order (a decoder such as
    # decord's decodes again from a keyframe for every step backwards).
    inds = [np.asarray(c['frame_inds']).reshape(-1) for c in clips]
    union, where = np.unique(np.concatenate(inds), return_inverse=True)
    data = dict(opened, **clips[0])
    data['frame_inds'] = union
    decoded = run_decoding(transforms[split.decode], data)
    if decoded is None:
        return None
    # Every clip's frames, a frame in several clips copied for each after
    # the first (augmentations such as Flip work in place).
    frames = distinct_frames(decoded.pop('imgs'), where)
    ends = np.cumsum([len(i) for i in inds])
    results = []
    for clip, end, size in zip(clips, ends, map(len, inds), strict=True):
        result = dict(decoded, **clip)
        result['imgs'] = frames[end - size:end]
        for transform in transforms[split.decode + 1:]:
            result = transform(result)
            if result is None:
                return None
        results.append(result)
    return results


def _drawn(sampled: dict, opened: dict) -> dict:
    """What a sampler added to or changed in ``opened``."""
    return {k: v for k, v in sampled.items()
            if k not in opened or v is not opened[k]}
