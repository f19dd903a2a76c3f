"""Frame sampling with the test-clip placement of MMAction2 0.x."""
import numpy as np
from mmaction.datasets.transforms import SampleFrames

from mmaction.registry import TRANSFORMS


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
