"""Checking that the videos a dataset list names exist and decode."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from .video_list import read_video_list


def is_local_path(path: str) -> bool:
    """Whether ``path`` is a plain file path (not ``s3://``, ``http://``)."""
    return '://' not in path


def check_video(path: str, decode: bool = True) -> Optional[str]:
    """Say why a video cannot be used, or ``None`` when it can.

    Args:
        path (str): Video file.
        decode (bool): Also open it with decord and decode its first, middle
            and last frames. Defaults to True.

    Returns:
        str | None: A one-line reason (``'missing'``, ``'a directory, not
        a video'``, ``'empty file'``, ``'undecodable: ...'``), or ``None``
        for a good video.
    """
    if osp.isdir(path):
        return 'a directory, not a video'
    if not osp.isfile(path):
        return 'missing'
    if osp.getsize(path) == 0:
        return 'empty file'
    if not decode:
        return None
    try:
        import decord
        reader = decord.VideoReader(path, num_threads=1)
        num_frames = len(reader)
        if num_frames == 0:
            return 'undecodable: no frames'
        indices = sorted({0, num_frames // 2, num_frames - 1})
        frames = reader.get_batch(indices).asnumpy()
        if frames.ndim != 4 or frames.shape[0] != len(indices):
            return f'undecodable: got frames of shape {frames.shape}'
    except Exception as exc:  # decord raises its own DECORDError and others
        return undecodable_reason(exc)
    return None


def undecodable_reason(exc: Exception) -> str:
    """One line for a video that failed to decode with ``exc``
    (``'undecodable: <type>: <first line of the message>'``)."""
    message = str(exc).strip().splitlines()
    return f'undecodable: {type(exc).__name__}: ' + (
        message[0] if message else '')


def check_video_list(ann_file: str, data_prefix: str = '',
                     delimiter: str = ' ', decode: bool = True,
                     num_workers: int = 0) -> List[Tuple[str, str]]:
    """Every bad video of a dataset list, with the reason.

    Args:
        ann_file (str): MMAction2 ``VideoDataset`` list file.
        data_prefix (str): Directory the names are relative to.
            Defaults to ``''``.
        delimiter (str): Column separator. Defaults to ``' '``.
        decode (bool): Decode sample frames, not only check existence.
            Defaults to True.
        num_workers (int): Processes to check with; 0 checks in this
            process. Defaults to 0.

    Returns:
        list[tuple[str, str]]: ``(path, reason)`` for each bad video, in list
        order.
    """
    paths = [osp.join(data_prefix, entry.filename) if data_prefix else
             entry.filename
             for entry in read_video_list(ann_file, delimiter,
                                          labelled=False)]
    if num_workers > 0:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(num_workers) as pool:
            reasons = list(pool.map(check_video, paths,
                                    [decode] * len(paths), chunksize=16))
    else:
        reasons = [check_video(path, decode) for path in paths]
    return [(path, reason) for path, reason in zip(paths, reasons, strict=True)
            if reason is not None]


def format_bad_videos(bad: Sequence[Tuple[str, str]], limit: int = 20) -> str:
    """One line per bad video, at most ``limit`` lines plus a count."""
    lines = [f'  {path}: {reason}' for path, reason in bad[:limit]]
    if len(bad) > limit:
        lines.append(f'  ... and {len(bad) - limit} more')
    return os.linesep.join(lines)


def dataset_lists_of_config(cfg, splits: Sequence[str] = ('train', 'val',
                                                          'test')
                            ) -> Dict[str, Tuple[str, str, str]]:
    """The video lists an MMAction2 config reads, per split.

    Args:
        cfg (mmengine.Config): A config with ``<split>_dataloader`` fields.
        splits (Sequence[str]): Which splits. Defaults to all three.

    Returns:
        dict: ``split -> (ann_file, video_prefix, delimiter)``; dataset
        wrappers (``RepeatDataset`` ...) are looked through.
    """
    lists = {}
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        dataset = loader['dataset']
        while 'ann_file' not in dataset and 'dataset' in dataset:
            dataset = dataset['dataset']
        if 'ann_file' not in dataset:
            continue
        prefix = (dataset.get('data_prefix') or {}).get('video', '')
        ann_file = dataset['ann_file']
        data_root = dataset.get('data_root')
        if data_root and not osp.isabs(ann_file):
            ann_file = osp.join(data_root, ann_file)
        if data_root and prefix and not osp.isabs(prefix):
            prefix = osp.join(data_root, prefix)
        lists[split] = (ann_file, prefix, dataset.get('delimiter', ' '))
    return lists
