"""Features of a trained AIM model for downstream work (localisation,
retrieval): per-frame class tokens or pooled clip features of sliding
windows over whole videos.

:class:`FeatureExtractor` decodes each window's frames once (decord),
preprocesses them as the config's test pipeline does after its sampler
(resize, one centre crop), normalises them with the model's data
preprocessor and runs the backbone (``mode='tensor'``), in batches.
"""
import copy
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS
from ..checkpoint import read_checkpoint
from ..datasets import BadVideoError, VideoPipeline, role_of
from ..datasets.video_check import undecodable_reason


def load_recognizer(config: Config, checkpoint: str, device: str = 'cpu',
                    allow_other_image_model: bool = False):
    """The config's recognizer with a full or adapter-only checkpoint
    (read safely, loaded strictly; an adapter-only one merged onto the
    image model of ``model.backbone.pretrained``), in eval mode."""
    init_default_scope('mmaction')
    model = MODELS.build(copy.deepcopy(config.model))
    model.load_checkpoint(read_checkpoint(checkpoint), name=checkpoint,
                          allow_other_image_model=allow_other_image_model)
    return model.to(device).eval()


def window_starts(total_frames: int, span: int, stride: int) -> List[int]:
    """Starts of windows of ``span`` frames every ``stride`` frames,
    covering the whole video (the last window ends on the last frame; a
    video shorter than a window gives one window at 0, padded by
    :func:`window_indices`)."""
    if stride < 1:
        raise ValueError(f'stride must be at least 1 frame, got {stride}')
    if total_frames <= span:
        return [0]
    starts = list(range(0, total_frames - span + 1, stride))
    if starts[-1] + span < total_frames:
        starts.append(total_frames - span)
    return starts


def window_indices(starts: Sequence[int], clip_len: int, frame_interval: int,
                   total_frames: int,
                   out_of_bound: str = 'loop') -> np.ndarray:
    """The frame indices ``[W, clip_len]`` of windows starting at
    ``starts``; indices past the video's end (a video shorter than one
    window) are padded as MMAction2's ``SampleFrames`` pads them
    (``out_of_bound_opt``): ``'loop'`` wraps to the start, ``'repeat_last'``
    repeats the last frame."""
    inds = np.asarray(starts)[:, None] + \
        np.arange(clip_len)[None] * frame_interval
    if out_of_bound == 'repeat_last':
        return np.minimum(inds, total_frames - 1)
    if out_of_bound != 'loop':
        raise ValueError(f"out_of_bound: 'loop' or 'repeat_last', got "
                         f'{out_of_bound!r}')
    return inds % total_frames


class FeatureExtractor:
    """Backbone features of sliding windows over whole videos.

    Args:
        model: An ``AIMRecognizer`` (weights loaded, eval mode).
        test_pipeline (list[dict]): The config's test pipeline; what follows
            its decoder is applied to each window (``ThreeCrop`` becomes one
            ``CenterCrop``: one view per window).
        clip_len (int, optional): Frames per window. Defaults to the
            backbone's ``num_frames``; another count needs a model built for
            it (``model.backbone.num_frames``) where the backbone models
            time (temporal embedding or adapters).
        frame_interval (int, optional): Frames between sampled frames.
            Defaults to the test sampler's (1 for uniform samplers).
        stride (int, optional): Frames between window starts. Defaults to
            the window's span (``clip_len * frame_interval``).
        batch_size (int): Windows per forward pass. Defaults to 8.
        stride_seconds (float, optional): Seconds between window starts
            (each video's frame rate makes it frames, at least one);
            overrides ``stride``.

    A video shorter than one window (fewer than
    :attr:`frames_per_window` frames) gives one window, its indices padded
    as the test sampler pads them (its ``out_of_bound_opt``: ``'loop'``,
    MMAction2's default, or ``'repeat_last'``); the tool says so per video.

    Raises:
        ValueError: A count or stride below 1 (or seconds not above 0), or
            a ``clip_len`` the model's backbone was not built for.
    """

    def __init__(self, model, test_pipeline: List[dict],
                 clip_len: Optional[int] = None,
                 frame_interval: Optional[int] = None,
                 stride: Optional[int] = None, batch_size: int = 8,
                 stride_seconds: Optional[float] = None) -> None:
        for name, value in (('clip_len', clip_len),
                            ('frame_interval', frame_interval),
                            ('stride', stride), ('batch_size', batch_size)):
            if value is not None and value < 1:
                raise ValueError(f'{name} must be at least 1, got {value}')
        if stride_seconds is not None and not stride_seconds > 0:
            raise ValueError(f'stride_seconds must be above 0, got '
                             f'{stride_seconds}')
        backbone = model.backbone
        if clip_len is not None and clip_len != backbone.num_frames and \
                getattr(backbone, 'models_time', True):
            raise ValueError(
                f'clip_len {clip_len}: the backbone was built for '
                f'{backbone.num_frames} frames; build the model with '
                f'model.backbone.num_frames={clip_len} (its temporal '
                'embedding is interpolated when the checkpoint loads)')
        self.model = model
        found = VideoPipeline(test_pipeline).sampler
        sampler = {} if found is None else test_pipeline[found]
        self.clip_len = backbone.num_frames if clip_len is None else clip_len
        self.frame_interval = sampler.get('frame_interval', 1) \
            if frame_interval is None else frame_interval
        self.out_of_bound = sampler.get('out_of_bound_opt', 'loop')
        self.span = self.clip_len * self.frame_interval
        self.stride = self.span if stride is None else stride
        self.stride_seconds = stride_seconds
        self.batch_size = batch_size
        # What follows decoding: the pipeline without its video reading.
        after = [dict(t) for t in test_pipeline if role_of(t) is None]
        for t in after:
            if t['type'] == 'ThreeCrop':
                t['type'] = 'CenterCrop'
        init_default_scope('mmaction')
        self.transforms = Compose(after)

    @property
    def frames_per_window(self) -> int:
        """Frames a window reaches over: a shorter video is padded."""
        return (self.clip_len - 1) * self.frame_interval + 1

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _views(self, frames: List[np.ndarray]) -> torch.Tensor:
        """One window's frames as the model's input ``[1, 3, T, H, W]``
        (the test pipeline's transforms after the decoder)."""
        results = dict(imgs=frames, num_clips=1, clip_len=self.clip_len,
                       original_shape=frames[0].shape[:2],
                       img_shape=frames[0].shape[:2], modality='RGB',
                       label=-1)
        return self.transforms(results)['inputs']

    @torch.no_grad()
    def features(self, inputs: torch.Tensor) -> torch.Tensor:
        """Per-frame features ``[N, T', D]`` of windows ``[N, 1, 3, T, H,
        W]`` (uint8 or float, not normalised): the backbone's
        ``mode='tensor'`` output. Flat ViTs: each frame's class token after
        the final norm; Swin: its feature map averaged over space."""
        data = self.model.data_preprocessor(
            dict(inputs=list(inputs), data_samples=None), training=False)
        feats = self.model(data['inputs'], mode='tensor')  # [N, D, T, ...]
        if isinstance(feats, (tuple, list)):
            feats = feats[0]
        feats = feats.flatten(3).mean(3) if feats.dim() > 3 else feats
        return feats.transpose(1, 2).float().cpu()  # [N, T', D]

    def extract(self, video: str) -> Dict[str, np.ndarray]:
        """Every window of ``video``.

        Returns:
            dict: ``frames`` ``[W, T', D]`` (per-frame features),
            ``pooled`` ``[W, D]`` (their mean over time, the clip feature),
            ``starts`` ``[W]`` and ``frame_inds`` ``[W, T]`` (frame
            indices, padded in a video shorter than a window), ``fps``,
            ``total_frames``.

        Raises:
            BadVideoError: The video cannot be opened or decoded (other
                errors keep their traceback).
        """
        import decord
        failures = (decord.DECORDError, RuntimeError, OSError)
        try:
            reader = decord.VideoReader(video, num_threads=1)
        except failures as exc:
            raise BadVideoError(f'{video}: {undecodable_reason(exc)}') \
                from exc
        total = len(reader)
        stride = self.stride if self.stride_seconds is None else max(
            1, round(self.stride_seconds * reader.get_avg_fps()))
        starts = window_starts(total, self.span, stride)
        inds = window_indices(starts, self.clip_len, self.frame_interval,
                              total, self.out_of_bound)
        per_frame = []
        for i in range(0, len(starts), self.batch_size):
            chunk = inds[i:i + self.batch_size]
            wanted = np.unique(chunk)
            try:
                decoded = reader.get_batch(list(wanted)).asnumpy()
            except failures as exc:  # a later frame fails to decode
                raise BadVideoError(f'{video}: {undecodable_reason(exc)}') \
                    from exc
            at = {int(f): k for k, f in enumerate(wanted)}
            views = torch.stack([
                self._views([decoded[at[int(f)]] for f in row])
                for row in chunk])  # [N, 1, 3, T, H, W]
            per_frame.append(self.features(views))
        frames = torch.cat(per_frame).numpy()
        return dict(frames=frames, pooled=frames.mean(1),
                    starts=np.asarray(starts), frame_inds=inds,
                    fps=np.float64(reader.get_avg_fps()),
                    total_frames=np.int64(total))
