"""Repeated sampling: several training clips from one opening of a video
(:class:`AIMRepeatedVideoDataset`, beside :class:`~.AIMVideoDataset` as
MMAction2 keeps its ``RepeatAugDataset`` beside ``VideoDataset``).

Decoding is nearly all of a video loader's time. VideoMAE and MAE-ST train
on several clips per video read: the video is opened once, ``num_repeats``
clips are sampled from it, the frames of all of them are decoded in one
pass, and each clip goes through the augmentations on its own.
:func:`prepare_repeats` does this for a dataset's pipeline, whatever its
decoder (decord, ``SparseDecode``, torchcodec ...): the pipeline's opening
transform (``...Init``), its frame sampler and its decoding transform
(:class:`~.pipeline.VideoPipeline`) must follow each other. The clips'
frames are decoded once each, in increasing order (decord, given one
clip's frames after another's, goes back to a keyframe and decodes
again).

Each clip's frames are drawn as a single clip's are (the same sampler,
independently), so a clip's distribution of sampled frames is unchanged; the
clips of one batch are no longer of distinct videos. ``sample_once`` (as
VideoMAE does) gives every repeat the same frames and only different
augmentations: one decode for all of them.
"""
from typing import Callable, List, Optional, Sequence

import numpy as np

from mmaction.registry import DATASETS
from ..utils.video import distinct_frames
from .video_dataset import AIMVideoDataset


@DATASETS.register_module()
class AIMRepeatedVideoDataset(AIMVideoDataset):
    """:class:`~.AIMVideoDataset` giving ``num_repeats`` training clips per
    video read (see the module docstring).

    A sample is a list of ``num_repeats`` results; the run's resolution
    (:mod:`mmaction_aim.engine.resolve`) collates them with MMAction2's
    ``repeat_pseudo_collate``, which makes each clip a sample of the batch:
    ``num_repeats`` times the clips per batch and per epoch. Training only.

    Args:
        *args: As :class:`~.AIMVideoDataset`.
        num_repeats (int): Clips per video read (>= 2). Defaults to 2.
        sample_once (bool): Give every repeat the same frames (different
            augmentations only, as VideoMAE): one decode of one clip's
            frames. Changes the distribution of sampled frames per batch.
            Defaults to False.
        **kwargs: As :class:`~.AIMVideoDataset`.
    """

    def __init__(self, *args, num_repeats: int = 2,
                 sample_once: bool = False, **kwargs) -> None:
        if isinstance(num_repeats, bool) or not isinstance(
                num_repeats, int) or num_repeats < 2:
            raise ValueError(f'num_repeats must be an integer >= 2 (clips '
                             f'per video read), got {num_repeats!r}')
        self.num_repeats = num_repeats
        self.sample_once = sample_once
        super().__init__(*args, **kwargs)
        if self.test_mode:
            raise ValueError('AIMRepeatedVideoDataset is for training; a '
                             'test or validation dataset takes its views '
                             'from its sampler (num_clips) and its crops')
        self.in_a_row = self.video_pipeline.in_a_row(
            'repeated sampling (num_repeats) decodes the frames of several '
            'clips at once')

    def prepare_data(self, idx: int) -> Optional[List[dict]]:
        """``num_repeats`` results of the pipeline for one video."""
        data = self.get_data_info(idx)
        if data.get('filename') in self._bad:
            return None  # skipped before: not decoded again
        return prepare_repeats(
            data, self.pipeline.transforms, self.in_a_row, self.num_repeats,
            self.sample_once,
            lambda transform, data: self._reading(idx, transform, data))


def prepare_repeats(data: dict, transforms: Sequence[Callable],
                    init: int, num_repeats: int,
                    sample_once: bool,
                    run_decoding: Callable[[Callable, dict], Optional[dict]]
                    ) -> Optional[List[dict]]:
    """``num_repeats`` results of a pipeline for one video, opened and
    decoded once.

    Args:
        data (dict): The sample's data info.
        transforms: The pipeline's transforms.
        init (int): Where its opening transform is, its sampler and decoder
            right after it (:meth:`VideoPipeline.in_a_row`).
        num_repeats (int): Clips to draw.
        sample_once (bool): Sample once and augment the same frames
            ``num_repeats`` times.
        run_decoding: Runs a decoding transform on data (the dataset's
            bad-video policy: None for a video to skip).

    Returns:
        list[dict] | None: One result per clip; None where a transform gave
        None (a skipped video).
    """
    for transform in transforms[:init]:
        data = transform(data)
        if data is None:
            return None
    opened = run_decoding(transforms[init], data)
    if opened is None:
        return None
    sampler = transforms[init + 1]
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
    decoded = run_decoding(transforms[init + 2], data)
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
        for transform in transforms[init + 3:]:
            result = transform(result)
            if result is None:
                return None
        results.append(result)
    return results


def _drawn(sampled: dict, opened: dict) -> dict:
    """What a sampler added to or changed in ``opened``."""
    return {k: v for k, v in sampled.items()
            if k not in opened or v is not opened[k]}
