"""Datasets registered into MMAction2, and video-list checking."""
from .video_check import (check_video, check_video_list,
                          dataset_lists_of_config, format_bad_videos,
                          read_video_list)
from .video_dataset import AIMVideoDataset, BadVideoError

__all__ = [
    'AIMVideoDataset', 'BadVideoError', 'check_video', 'check_video_list',
    'dataset_lists_of_config', 'format_bad_videos', 'read_video_list'
]
