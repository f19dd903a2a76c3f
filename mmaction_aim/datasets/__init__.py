"""Datasets registered into MMAction2, video lists and video checking."""
from . import transforms  # noqa: F401  (registers the transforms)
from .video_check import (check_video, check_video_list,
                          dataset_lists_of_config, format_bad_videos)
from .pipeline import DECODE, OPEN, SAMPLE, VideoPipeline, role_of
from .video_dataset import AIMVideoDataset, BadVideoError
from .repeated_sampling import AIMRepeatedVideoDataset
from .video_list import (ListEntry, VideoListError, check_labels,
                         label_problems, list_fingerprint, read_video_list)

__all__ = [
    'AIMRepeatedVideoDataset', 'AIMVideoDataset', 'BadVideoError', 'DECODE',
    'ListEntry', 'OPEN', 'SAMPLE', 'VideoPipeline', 'role_of',
    'VideoListError', 'check_labels', 'check_video', 'check_video_list',
    'dataset_lists_of_config', 'format_bad_videos', 'label_problems',
    'list_fingerprint',
    'read_video_list'
]
