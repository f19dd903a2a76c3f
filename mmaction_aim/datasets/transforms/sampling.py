"""Frame sampling: the test-clip placement of MMAction2 0.x, and the clips
of several view protocols decoded at once."""
from typing import Dict, List, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.datasets.transforms import SampleFrames

from mmaction.registry import TRANSFORMS
from ...utils.views import parse_protocol
from ..pipeline import SAMPLE


@TRANSFORMS.register_module()
class CentredSampleFrames(SampleFrames):
    """MMAction2's ``SampleFrames`` with the test clips of MMAction2 0.x,
    which the original AIM was evaluated with.

    In test mode the video is cut into ``num_clips`` equal segments of the
    range of start frames, and each clip starts at its segment's centre:
    offsets ``int(k*s + s/2)`` with ``s = (n - L + 1) / num_clips`` for a
    video of ``n`` frames and ``L = clip_len * frame_interval``. MMAction2
    1.x instead spreads the clips from the first frame to the last
    (``round(k * (n - L') / (num_clips - 1))``, ``L' = (clip_len - 1) *
    frame_interval + 1``): for 3 clips of 8x16 in 300 frames, starts
    28/86/144 here, 0/94/187 there. A video shorter than ``L`` gives every
    clip offset 0, as in 0.x. Training sampling is MMAction2's, unchanged.

    Args: as :class:`mmaction.datasets.transforms.SampleFrames`.
    """

    def _get_test_clips(self, num_frames: int,
                        ori_clip_len: float) -> np.ndarray:
        if self.clip_len == 1 or self.twice_sample or \
                self.target_fps is not None:
            # 2-D sampling and the options 0.x did not have: MMAction2's.
            return super()._get_test_clips(num_frames, ori_clip_len)
        # 0.x's span of a clip, clip_len * frame_interval (1.x uses
        # (clip_len - 1) * frame_interval + 1).
        span = self.clip_len * self.frame_interval
        segment = (num_frames - span + 1) / float(self.num_clips)
        if num_frames <= span - 1:
            return np.zeros(self.num_clips, dtype=np.int64)
        starts = np.arange(self.num_clips) * segment + segment / 2.0
        return starts.astype(np.int64)


@TRANSFORMS.register_module()
class MultiProtocolSampleFrames(BaseTransform):
    """Test clips of several view protocols at once, for one decode.

    Each protocol ``'<clips>x<crops>'`` places its clips as ``sampler``
    does for that number of clips; the union of all clip starts is decoded
    once, and ``results['protocols']`` records, per protocol, the indices of
    its clips in the union (and its crops), so that the head can average
    the views of each protocol separately
    (:func:`mmaction_aim.utils.views.protocol_views`). With centred placement
    the middle of 3 clips is the single clip, so 1x1, 3x1 and 1x3 add
    nothing to decode beyond 3x3.

    Required keys: ``total_frames``, ``start_index``. Added keys:
    ``frame_inds``, ``clip_len``, ``frame_interval``, ``num_clips`` (the
    union's), ``protocols``.

    Args:
        protocols (Sequence[str]): The protocols; the first is the main one
            (``pred_score``).
        sampler (dict): The test sampler whose placement is used
            (``SampleFrames`` or ``CentredSampleFrames``, ``test_mode``;
            ``num_clips`` ignored), or another sampler of one clip (e.g.
            ``UniformSample``) for protocols of 1 clip.
    """

    video_role = SAMPLE

    def __init__(self, protocols: Sequence[str], sampler: dict) -> None:
        if not protocols:
            raise ValueError('protocols: at least one, e.g. ["3x1"]')
        self.protocols = [str(p) for p in protocols]
        self.specs = {p: parse_protocol(p) for p in self.protocols}
        self.sampler = TRANSFORMS.build(dict(sampler, test_mode=True))
        self.dense = isinstance(self.sampler, SampleFrames)
        if self.dense and (self.sampler.target_fps is not None
                           or self.sampler.temporal_jitter
                           or self.sampler.out_of_bound_opt != 'loop'):
            raise ValueError(
                'MultiProtocolSampleFrames takes SampleFrames (or '
                'CentredSampleFrames) without target_fps, temporal_jitter '
                f'or out_of_bound_opt, got {sampler}')
        clips = {c for c, _ in self.specs.values()}
        if not self.dense and (clips != {1} or
                               getattr(self.sampler, 'num_clips', 1) != 1):
            raise ValueError(
                f'{sampler["type"]} places one clip here: only protocols of '
                f'1 clip (1x1, 1x3) go with it, got {self.protocols}')

    def clip_starts(self, total_frames: int) -> Dict[int, List[int]]:
        """Clip starts of every number of clips the protocols use."""
        sampler = self.sampler
        span = sampler._get_ori_clip_len(1.0)
        starts = {}
        for clips in sorted({c for c, _ in self.specs.values()}):
            sampler.num_clips = clips
            starts[clips] = [int(s) for s in sampler._get_test_clips(
                total_frames, span)]
        return starts

    def transform(self, results: dict) -> dict:
        if not self.dense:  # one clip, as the sampler places it
            results = self.sampler(results)
            results['protocols'] = {
                p: dict(clips=[0], crops=k, num_clips=1)
                for p, (_, k) in self.specs.items()}
            return results
        total = results['total_frames']
        starts = self.clip_starts(total)
        union = sorted({s for v in starts.values() for s in v})
        index = {s: i for i, s in enumerate(union)}
        s = self.sampler
        inds = np.asarray(union)[:, None] + np.arange(
            s.clip_len)[None, :] * s.frame_interval
        inds = np.mod(inds, total) + results['start_index']
        results.update(
            frame_inds=inds.reshape(-1).astype(np.int32),
            clip_len=s.clip_len, frame_interval=s.frame_interval,
            num_clips=len(union),
            protocols={p: dict(clips=[index[x] for x in starts[c]],
                               crops=k, num_clips=len(union))
                       for p, (c, k) in self.specs.items()})
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(protocols={self.protocols}, '
                f'sampler={self.sampler!r})')
