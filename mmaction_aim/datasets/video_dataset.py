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

from .repeated_sampling import prepare_repeats, split_pipeline
from .transforms.decoders import with_decoder
from ..utils.errors import BadInputError
from .video_check import (format_bad_videos, is_local_path,
                          undecodable_reason)
from .video_list import check_labels, list_fingerprint, read_video_list


class BadVideoError(BadInputError, RuntimeError):
    """A video named by a dataset list is missing or cannot be decoded."""


#: Transforms that open or decode the video file: a failure in one of them
#: is a bad video; a failure anywhere else is an error of the pipeline or
#: the config, and keeps its traceback. A transform of another package
#: joins them with a class attribute ``decodes_video = True``.
DECODER_TRANSFORMS = ('DecordInit', 'DecordDecode', 'OpenCVInit',
                      'OpenCVDecode', 'PyAVInit', 'PyAVDecode',
                      'PyAVDecodeMotionVector', 'PIMSInit', 'PIMSDecode',
                      'SparseInit', 'SparseDecode', 'TorchCodecInit',
                      'TorchCodecDecode')


#: Frame samplers, whose ``clip_len`` is the frames a clip gets.
FRAME_SAMPLERS = ('SampleFrames', 'CentredSampleFrames', 'UniformSample',
                  'UniformSampleFrames', 'DenseSampleFrames')


def decodes_video(transform: Any) -> bool:
    """Whether ``transform`` opens or decodes the video file."""
    return type(transform).__name__ in DECODER_TRANSFORMS or bool(
        getattr(transform, 'decodes_video', False))


@DATASETS.register_module()
class AIMVideoDataset(VideoDataset):
    """MMAction2's ``VideoDataset`` with a chosen policy for bad videos.

    MMAction2 reports an undecodable video as an exception deep inside the
    data pipeline, in a worker process, without the file name. This dataset
    reads its list with line numbers (a line without a label, or a label
    that is not an integer or outside ``[0, num_classes)`` when
    ``num_classes`` is given, is an error naming the file and the line),
    checks at start-up that every listed file exists, and names the file
    when one of the decoding transforms (:data:`DECODER_TRANSFORMS`) fails;
    an error of any other transform is the pipeline's, and propagates with
    its traceback.

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
        num_repeats (int): Training clips per video read (repeated
            sampling, :mod:`.repeated_sampling`): the video is opened once,
            ``num_repeats`` clips are sampled, their frames decoded in one
            pass and each clip augmented on its own; a sample is then a
            list of ``num_repeats`` results, which the run's resolution
            collates with MMAction2's ``repeat_pseudo_collate``
            (:mod:`mmaction_aim.engine.resolve`), giving ``num_repeats``
            times the clips per batch and per epoch. Needs the pipeline's
            opening, sampling and decoding transforms in a row; training
            only.
            Defaults to 1 (off, as in the paper's recipes).
        sample_once (bool): With ``num_repeats``, give every repeat the same
            frames (different augmentations only, as VideoMAE): one decode
            of one clip's frames. Changes the distribution of sampled
            frames per batch. Defaults to False.
        decoder (str, optional): Decode with ``'sparse'``
            (``SparseInit`` / ``SparseDecode``: the same frames, fewer
            pictures decoded) or ``'torchcodec'`` in place of the
            pipeline's ``DecordInit`` / ``DecordDecode`` (local files).
            None: the pipeline as written. Defaults to None.
        **kwargs: Passed to ``VideoDataset``.
    """

    def __init__(self, *args, on_bad_video: str = 'error',
                 check_exists: bool = True, preload: bool = False,
                 preload_limit_mb: float = 2048., num_repeats: int = 1,
                 sample_once: bool = False, decoder: Optional[str] = None,
                 **kwargs) -> None:
        if on_bad_video not in ('error', 'skip'):
            raise ValueError(
                "on_bad_video must be 'error' or 'skip', got "
                f'{on_bad_video!r}')
        if int(num_repeats) != num_repeats or num_repeats < 1:
            raise ValueError(f'num_repeats must be an integer >= 1, got '
                             f'{num_repeats!r}')
        self.on_bad_video = on_bad_video
        self.check_exists = check_exists
        self.preload = preload
        self.preload_limit_mb = preload_limit_mb
        self.num_repeats = int(num_repeats)
        self.sample_once = sample_once
        self._bad: set = set()
        if decoder is not None:
            kwargs['pipeline'] = with_decoder(kwargs['pipeline'], decoder)
        super().__init__(*args, **kwargs)
        self._split = None
        if self.num_repeats > 1:
            if self.test_mode:
                raise ValueError('num_repeats > 1 (repeated sampling) is '
                                 'for training; a test or validation '
                                 'dataset takes its views from its sampler '
                                 '(num_clips) and its crops')
            self._split = split_pipeline(self.pipeline.transforms,
                                         decodes_video, FRAME_SAMPLERS)

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

        def decoding(transform, data):
            try:
                return transform(data)
            except Exception as exc:  # each decoder raises its own
                return self._bad_video(idx, filename, exc)

        if self._split is not None:
            return prepare_repeats(data, self.pipeline.transforms,
                                   self._split, self.num_repeats,
                                   self.sample_once, decoding)
        for transform in self.pipeline.transforms:
            data = decoding(transform, data) if decodes_video(transform) \
                else transform(data)
            if data is None:
                return None
        return data

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
    names = [type(t).__name__ for t in transforms]
    decoders = [type(t).__name__ for t in transforms if decodes_video(t)]
    if 'ArrayDecode' not in names or decoders:
        raise ValueError(
            'preload=True hands the decoded frames to the pipeline as '
            "'array': the pipeline must read them with ArrayDecode (after "
            'SampleFrames) and must not decode the file again'
            + (f' (it has {", ".join(decoders)})' if decoders else '')
            + f'; got {names}')
