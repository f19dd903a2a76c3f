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

from .pipeline import VideoPipeline
from .transforms.decoders import with_decoder
from ..utils.errors import BadInputError
from .video_check import (format_bad_videos, is_local_path,
                          undecodable_reason)
from .video_list import (VideoListError, check_labels, list_fingerprint,
                         read_video_list)


class BadVideoError(BadInputError, RuntimeError):
    """A video named by a dataset list is missing or cannot be decoded."""


@DATASETS.register_module()
class AIMVideoDataset(VideoDataset):
    """MMAction2's ``VideoDataset`` with a chosen policy for bad videos.

    MMAction2 reports an undecodable video as an exception deep inside the
    data pipeline, in a worker process, without the file name. This dataset
    reads its list with line numbers (a line without a label, or a label
    that is not an integer or outside ``[0, num_classes)`` when
    ``num_classes`` is given, is an error naming the file and the line),
    checks at start-up that every listed file exists, and names the file
    when the transform that opens or decodes the video fails
    (:class:`~.pipeline.VideoPipeline`); an error of any other transform is
    the pipeline's, and propagates with its traceback. Several clips per
    video read: :class:`~.repeated_sampling.AIMRepeatedVideoDataset`.

    Args:
        *args: Passed to ``VideoDataset`` (``ann_file``, ``pipeline`` ...).
        on_bad_video (str): ``'error'``: stop with a :class:`BadVideoError`
            naming the file(s). ``'skip'``: log the file(s) and train on
            the others (missing files are dropped from the list at start-up;
            a video that fails to decode is replaced by another sample, as
            MMEngine does for ``None`` samples, and not tried again). Test
            mode always uses ``'error'``, as skipping would change the
            metrics.
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
        decoder (str, optional): Decode with ``'sparse'``
            (``SparseInit`` / ``SparseDecode``: the same frames, fewer
            pictures decoded) or ``'torchcodec'`` in place of the
            pipeline's ``DecordInit`` / ``DecordDecode`` (local files).
            None: the pipeline as written. Defaults to None.
        **kwargs: Passed to ``VideoDataset``.
    """

    def __init__(self, *args, on_bad_video: str = 'error',
                 check_exists: bool = True, preload: bool = False,
                 preload_limit_mb: float = 2048.,
                 decoder: Optional[str] = None, **kwargs) -> None:
        if on_bad_video not in ('error', 'skip'):
            raise ValueError(
                "on_bad_video must be 'error' or 'skip', got "
                f'{on_bad_video!r}')
        self.on_bad_video = on_bad_video
        self.check_exists = check_exists
        self.preload = preload
        self.preload_limit_mb = preload_limit_mb
        self._bad: set = set()
        if decoder is not None:
            kwargs['pipeline'] = with_decoder(kwargs['pipeline'], decoder)
        super().__init__(*args, **kwargs)
        self.video_pipeline = VideoPipeline(self.pipeline.transforms)

    @property
    def _skips(self) -> bool:
        return self.on_bad_video == 'skip' and not self.test_mode

    def load_data_list(self) -> List[dict]:
        """Read the list (with line numbers, labels checked), apply the
        missing-file policy and, with ``preload``, decode every video
        (before MMEngine serialises the list, so the frames travel with it,
        to dataloader workers too)."""
        entries = read_video_list(self.ann_file, self.delimiter,
                                  self.multi_class)
        if self.num_classes is not None:
            check_labels(entries, self.num_classes, self.ann_file)
        #: The list as read (line, file, label), kept beside MMEngine's
        #: serialised data list for checks that need no frames.
        self.list_entries = entries
        print_log(f'{self.ann_file}: {len(entries)} videos, list fingerprint '
                  f'{list_fingerprint(entries)}'
                  f'{" (test mode)" if self.test_mode else ""}',
                  logger='current')
        prefix = self.data_prefix.get('video')
        data_list = [dict(filename=osp.join(prefix, entry.filename)
                          if prefix else entry.filename,
                          label=entry.label, line=entry.line)
                     for entry in entries]
        data_list = self._existing(data_list)
        if not data_list:
            raise VideoListError(
                f'{self.ann_file} lists no videos'
                + (' that exist' if entries else '') + ': a run on it would '
                'train or score nothing')
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
        report = format_bad_videos([
            (name, 'a directory, not a video' if osp.isdir(name) else
             'missing') for name in missing])
        if not self._skips:
            raise BadVideoError(
                f'{len(missing)} of {len(data_list)} videos listed in '
                f'{self.ann_file} do not exist as files:\n{report}\n'
                + self._advice())
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
                    f'{report}\n' + self._advice())
            print_log(f'Skipping {len(bad)} of {len(data_list)} videos of '
                      f'{self.ann_file} that cannot be decoded:\n{report}',
                      logger='current', level=logging.WARNING)
        print_log(
            f'Preloaded {len(kept)} videos of {self.ann_file}: '
            f'{total_bytes / 2**20:.1f} MB of frames, decoded with decord in '
            f'{time.time() - start:.1f} s', logger='current')
        return kept

    def _advice(self) -> str:
        """What to do about bad videos, for this dataset's mode."""
        advice = ('Fix the list (tools/check_dataset.py finds every bad '
                  'video)')
        if self.test_mode:
            return advice + ': test mode never skips videos, since that ' \
                'would change the metrics.'
        return advice + " or set on_bad_video='skip' to train without them."

    def prepare_data(self, idx: int) -> Optional[Any]:
        """Run the pipeline; a failure of a decoding transform names the
        video, any other failure propagates as it is."""
        data = self.get_data_info(idx)
        filename = data.get('filename', f'sample {idx}')
        if filename in self._bad:
            return None  # skipped before: not decoded again

        for i, transform in enumerate(self.pipeline.transforms):
            data = self._reading(idx, transform, data) if \
                self.video_pipeline.reads_file(i) else transform(data)
            if data is None:
                return None
        return data

    def _reading(self, idx: int, transform: Any, data: dict
                 ) -> Optional[dict]:
        """Run a transform that opens or decodes the file: its failure is
        the video's (:meth:`_bad_video`)."""
        filename = data.get('filename', f'sample {idx}')
        try:
            return transform(data)
        except Exception as exc:  # each decoder raises its own
            return self._bad_video(idx, filename, exc)

    def _bad_video(self, idx: int, filename: str, exc: Exception) -> None:
        """Raise, or (``skip``) log once and give MMEngine no sample."""
        reason = f'{type(exc).__name__}: {exc}'
        where = f'line {self.get_data_info(idx).get("line", "?")} of ' \
            f'{self.ann_file}'
        if not self._skips:
            raise BadVideoError(f'Cannot decode video {filename} ({where}): '
                                f'{reason}. ' + self._advice()) from exc
        if filename not in self._bad:
            self._bad.add(filename)
            print_log(f'Skipping video {filename} ({where}) that cannot be '
                      f'decoded: {reason}', logger='current',
                      level=logging.WARNING)
        return None


def _check_preload_pipeline(transforms: List[Any]) -> None:
    """``preload`` needs ``ArrayDecode`` and no transform that decodes the
    file again (``transforms``: the built pipeline's)."""
    pipeline = VideoPipeline(transforms)
    names = pipeline.names
    decoders = [names[i] for i in range(len(names))
                if pipeline.reads_file(i)]
    if 'ArrayDecode' not in names or decoders:
        raise ValueError(
            'preload=True hands the decoded frames to the pipeline as '
            "'array': the pipeline must read them with ArrayDecode (after "
            'SampleFrames) and must not decode the file again'
            + (f' (it has {", ".join(decoders)})' if decoders else '')
            + f'; got {names}')
