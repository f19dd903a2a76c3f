"""A ``VideoDataset`` that names the file whenever a video cannot be used."""
import logging
import os.path as osp
from typing import Any, List, Optional

from mmengine.logging import print_log

from mmaction.datasets import VideoDataset
from mmaction.registry import DATASETS

from .video_check import format_bad_videos, is_local_path


class BadVideoError(RuntimeError):
    """A video named by a dataset list is missing or cannot be decoded."""


@DATASETS.register_module()
class AIMVideoDataset(VideoDataset):
    """MMAction2's ``VideoDataset`` with a chosen policy for bad videos.

    MMAction2 reports an undecodable video as an exception deep inside the
    data pipeline, in a worker process, without the file name. This dataset
    checks at start-up that every listed file exists, and wraps the pipeline
    so that a failure names the file.

    Args:
        *args: Passed to ``VideoDataset`` (``ann_file``, ``pipeline`` ...).
        on_bad_video (str): ``'error'``: stop with a :class:`BadVideoError`
            naming the file(s). ``'skip'``: log the file(s) and train on
            the others (missing files are dropped from the list at start-up;
            a video that fails to decode is replaced by another sample, as
            MMEngine does for ``None`` samples). Test mode always uses
            ``'error'``, as skipping would change the metrics.
            Defaults to ``'error'``.
        check_exists (bool): Check at start-up that every listed local file
            exists. Defaults to True.
        **kwargs: Passed to ``VideoDataset``.
    """

    def __init__(self, *args, on_bad_video: str = 'error',
                 check_exists: bool = True, **kwargs) -> None:
        if on_bad_video not in ('error', 'skip'):
            raise ValueError(
                "on_bad_video must be 'error' or 'skip', got "
                f'{on_bad_video!r}')
        self.on_bad_video = on_bad_video
        self.check_exists = check_exists
        self._reported: set = set()
        super().__init__(*args, **kwargs)

    @property
    def _skips(self) -> bool:
        return self.on_bad_video == 'skip' and not self.test_mode

    def load_data_list(self) -> List[dict]:
        """Read the list and apply the missing-file policy."""
        data_list = super().load_data_list()
        if not self.check_exists:
            return data_list
        missing = [info['filename'] for info in data_list
                   if is_local_path(info['filename'])
                   and not osp.isfile(info['filename'])]
        if not missing:
            return data_list
        report = format_bad_videos([(name, 'missing') for name in missing])
        if not self._skips:
            raise BadVideoError(
                f'{len(missing)} of {len(data_list)} videos listed in '
                f'{self.ann_file} do not exist:\n{report}\n'
                "Fix the list (tools/check_dataset.py finds every bad video) "
                "or set on_bad_video='skip' to train without them.")
        print_log(
            f'Skipping {len(missing)} of {len(data_list)} videos listed in '
            f'{self.ann_file} that do not exist:\n{report}',
            logger='current', level=logging.WARNING)
        missing_set = set(missing)
        return [info for info in data_list
                if info['filename'] not in missing_set]

    def prepare_data(self, idx: int) -> Optional[Any]:
        """Run the pipeline; a failure names the video."""
        data_info = self.get_data_info(idx)
        try:
            return self.pipeline(data_info)
        except Exception as exc:
            filename = data_info.get('filename', f'sample {idx}')
            reason = f'{type(exc).__name__}: {exc}'
            if not self._skips:
                raise BadVideoError(
                    f'Cannot load video {filename} (sample {idx} of '
                    f'{self.ann_file}): {reason}') from exc
            if filename not in self._reported:
                self._reported.add(filename)
                print_log(f'Skipping video {filename} that cannot be '
                          f'loaded: {reason}', logger='current',
                          level=logging.WARNING)
            return None
