"""A ``VideoDataset`` that names the file whenever a video cannot be used,
and can decode a small dataset into memory once."""
import io
import logging
import os.path as osp
import time
from typing import Any, List, Optional

from mmengine import fileio
from mmengine.logging import print_log

from mmaction.datasets import VideoDataset
from mmaction.registry import DATASETS

from .video_check import (format_bad_videos, is_local_path,
                          undecodable_reason)


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
        preload (bool): Decode every video once at start-up, all its frames,
            with decord, and keep them in memory (``uint8`` RGB, as
            ``DecordDecode`` gives them). The pipeline reads them with
            MMAction2's ``ArrayDecode`` where it would otherwise open and
            decode the file with ``DecordInit`` and ``DecordDecode`` for
            every sample of every epoch: the same frames, without the
            decoding. For datasets that fit in memory (frames x height x
            width x 3 bytes a video); a video that fails to decode follows
            ``on_bad_video``. Defaults to False.
        preload_limit_mb (float): With ``preload``, stop with an error once
            the decoded frames pass this size. Defaults to 2048.
        **kwargs: Passed to ``VideoDataset``.
    """

    def __init__(self, *args, on_bad_video: str = 'error',
                 check_exists: bool = True, preload: bool = False,
                 preload_limit_mb: float = 2048., **kwargs) -> None:
        if on_bad_video not in ('error', 'skip'):
            raise ValueError(
                "on_bad_video must be 'error' or 'skip', got "
                f'{on_bad_video!r}')
        self.on_bad_video = on_bad_video
        self.check_exists = check_exists
        self.preload = preload
        self.preload_limit_mb = preload_limit_mb
        self._reported: set = set()
        super().__init__(*args, **kwargs)

    @property
    def _skips(self) -> bool:
        return self.on_bad_video == 'skip' and not self.test_mode

    def load_data_list(self) -> List[dict]:
        """Read the list, apply the missing-file policy and, with
        ``preload``, decode every video (before MMEngine serialises the
        list, so the frames travel with it, to dataloader workers too)."""
        data_list = self._existing(super().load_data_list())
        return self._decoded(data_list) if self.preload else data_list

    def _existing(self, data_list: List[dict]) -> List[dict]:
        """``data_list`` by the missing-file policy."""
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

    def _decoded(self, data_list: List[dict]) -> List[dict]:
        """``data_list`` with every video's frames as ``array`` and their
        number as ``total_frames``; bad videos by ``on_bad_video``."""
        # The pipeline is built before the list is loaded: check it first.
        _check_preload_pipeline(self.pipeline.transforms)
        import decord
        start, total_bytes, kept, bad = time.time(), 0, [], []
        for info in data_list:
            try:
                reader = decord.VideoReader(
                    io.BytesIO(fileio.get(info['filename'])), num_threads=1)
                frames = reader.get_batch(range(len(reader))).asnumpy()
                if len(frames) == 0:
                    raise ValueError('no frames')
            except Exception as exc:  # decord raises DECORDError and others
                bad.append((info['filename'], undecodable_reason(exc)))
                if not self._skips:
                    break
                continue
            total_bytes += frames.nbytes
            if total_bytes > self.preload_limit_mb * 2**20:
                raise ValueError(
                    f'preload: the decoded frames of the first '
                    f'{len(kept) + 1} of {len(data_list)} videos of '
                    f'{self.ann_file} already pass preload_limit_mb='
                    f'{self.preload_limit_mb:g}. Raise the limit, or decode '
                    'every sample from the file instead: preload=False and '
                    'DecordInit + DecordDecode in the pipeline in place of '
                    'ArrayDecode.')
            kept.append(dict(info, array=frames, total_frames=len(frames)))
        if bad:
            report = format_bad_videos(bad)
            if not self._skips:
                raise BadVideoError(
                    f'Cannot preload a video listed in {self.ann_file}:\n'
                    f'{report}\nFix the list (tools/check_dataset.py finds '
                    "every bad video) or set on_bad_video='skip'.")
            print_log(f'Skipping {len(bad)} of {len(data_list)} videos of '
                      f'{self.ann_file} that cannot be decoded:\n{report}',
                      logger='current', level=logging.WARNING)
        print_log(
            f'Preloaded {len(kept)} videos of {self.ann_file}: '
            f'{total_bytes / 2**20:.1f} MB of frames, decoded with decord in '
            f'{time.time() - start:.1f} s', logger='current')
        return kept

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


#: Transforms that open or decode the file, which ``preload`` replaces.
_FILE_DECODERS = ('DecordInit', 'DecordDecode', 'OpenCVInit', 'OpenCVDecode',
                  'PyAVInit', 'PyAVDecode', 'PIMSInit', 'PIMSDecode')


def _check_preload_pipeline(transforms: List[Any]) -> None:
    """``preload`` needs ``ArrayDecode`` and no transform that decodes the
    file again (``transforms``: the built pipeline's)."""
    names = [type(t).__name__ for t in transforms]
    decoders = [n for n in names if n in _FILE_DECODERS]
    if 'ArrayDecode' not in names or decoders:
        raise ValueError(
            'preload=True hands the decoded frames to the pipeline as '
            "'array': the pipeline must read them with ArrayDecode (after "
            'SampleFrames) and must not decode the file again'
            + (f' (it has {", ".join(decoders)})' if decoders else '')
            + f'; got {names}')
