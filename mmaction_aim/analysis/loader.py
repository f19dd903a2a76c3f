"""Measuring a config's data pipeline: clips per second per loader process,
and where the time goes.

A dataloader worker is one process running the dataset's pipeline, one
transform after another, on one core. :func:`measure_pipeline` runs a
dataset's pipeline the same way (one thread for decord, OpenCV and torch),
timing each transform, so that the loader cores a GPU needs follow from the
GPU's training throughput.
"""
import random
import time
from typing import Dict, List, Optional

import numpy as np


def single_threaded() -> None:
    """One thread for OpenCV and torch, as a dataloader worker has."""
    import cv2
    import torch
    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def measure_pipeline(dataset, samples: int, warmup: int = 2,
                     seed: int = 0) -> dict:
    """Run ``dataset``'s pipeline on ``samples`` items, timing each
    transform.

    Args:
        dataset: A built MMEngine dataset (``get_data_info`` and a
            ``pipeline`` of transforms).
        samples (int): Items timed (drawn in a seeded random order, cycling
            through the list).
        warmup (int): Items run first and not timed. Defaults to 2.
        seed (int): Order and the transforms' random draws. Defaults to 0.

    Returns:
        dict: ``clips_per_s``, ``s_per_clip``, ``samples``, and
        ``transforms``: one ``{name, s_per_clip, share}`` per transform, in
        pipeline order.
    """
    if getattr(dataset, 'num_repeats', 1) > 1:  # repeated sampling
        return _measure_repeated(dataset, samples, warmup, seed)
    transforms = list(dataset.pipeline.transforms)
    names = [type(t).__name__ for t in transforms]
    rng = random.Random(seed)
    order = list(range(len(dataset)))
    np.random.seed(seed)
    spent = np.zeros(len(transforms))
    total = 0.
    for n in range(warmup + samples):
        if n % len(order) == 0:
            rng.shuffle(order)
        results = dataset.get_data_info(order[n % len(order)])
        start = time.perf_counter()
        for i, transform in enumerate(transforms):
            t0 = time.perf_counter()
            results = transform(results)
            if n >= warmup:
                spent[i] += time.perf_counter() - t0
        if n >= warmup:
            total += time.perf_counter() - start
    return dict(
        clips_per_s=samples / total, s_per_clip=total / samples,
        samples=samples,
        transforms=[dict(name=name, s_per_clip=float(s / samples),
                         share=float(s / total))
                    for name, s in zip(names, spent, strict=True)])


def _measure_repeated(dataset, samples: int, warmup: int,
                      seed: int) -> dict:
    """Clips per second of a dataset drawing ``num_repeats`` clips per
    video read (``AIMRepeatedVideoDataset(num_repeats=K)`` or MMAction2's
    ``RepeatAugDataset``); ``samples`` counts clips."""
    rng = random.Random(seed)
    order = list(range(len(dataset)))
    np.random.seed(seed)
    items = max(1, samples // dataset.num_repeats)
    total = 0.
    for n in range(warmup + items):
        if n % len(order) == 0:
            rng.shuffle(order)
        start = time.perf_counter()
        dataset.prepare_data(order[n % len(order)])
        if n >= warmup:
            total += time.perf_counter() - start
    clips = items * dataset.num_repeats
    return dict(clips_per_s=clips / total, s_per_clip=total / clips,
                samples=clips, transforms=[])


def decoding_share(report: dict) -> float:
    """Share of a :func:`measure_pipeline` report's time spent opening and
    decoding videos."""
    from ..datasets import DECODE, OPEN, role_of
    return sum(t['share'] for t in report['transforms']
               if role_of(dict(type=t['name'])) in (OPEN, DECODE))


def cores_per_gpu(clips_per_s_per_core: float,
                  gpu_clips_per_s: Optional[float]) -> Optional[float]:
    """Loader cores one GPU needs to be fed ``gpu_clips_per_s``."""
    if not gpu_clips_per_s:
        return None
    return gpu_clips_per_s / clips_per_s_per_core


def footage(num_frames: int, height: int, width: int, seed: int = 0
            ) -> List[np.ndarray]:
    """Frames that encode like camera footage more than a flat synthetic
    picture does: smooth textured background panning, moving shapes, and
    sensor noise."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (height // 8 + 2, width // 8 + 40, 3),
                        dtype=np.uint8)
    import cv2
    texture = cv2.resize(base, ((width // 8 + 40) * 8, (height // 8 + 2) * 8),
                         interpolation=cv2.INTER_CUBIC)
    frames = []
    for t in range(num_frames):
        x = (t * 2) % 300
        frame = texture[:height, x:x + width].copy()
        cx = int((width - 80) * (0.5 + 0.4 * np.sin(t / 15)))
        cy = int((height - 80) * (0.5 + 0.4 * np.cos(t / 20)))
        frame[cy:cy + 80, cx:cx + 80] = (220, 60, 40)
        noise = rng.integers(-6, 7, frame.shape)
        frames.append(np.clip(frame.astype(int) + noise, 0, 255)
                      .astype(np.uint8))
    return frames


def footage_of(video: str, num_frames: int, height: int, width: int,
               seed: int = 0) -> List[np.ndarray]:
    """``num_frames`` frames of a real ``video``: scaled to cover
    ``width`` x ``height`` and cropped (the crop's place and the first
    frame drawn by ``seed``), played forward and back as long as needed."""
    import cv2
    import decord
    reader = decord.VideoReader(video, num_threads=1)
    source = reader.get_batch(range(len(reader))).asnumpy()
    src_h, src_w = source.shape[1:3]
    scale = max(height / src_h, width / src_w)
    size = (max(width, round(src_w * scale)),
            max(height, round(src_h * scale)))
    rng = np.random.default_rng(seed)
    x = int(rng.integers(0, size[0] - width + 1))
    y = int(rng.integers(0, size[1] - height + 1))
    cycle = list(range(len(source))) + list(range(len(source) - 2, 0, -1))
    first = int(rng.integers(0, len(cycle)))
    return [cv2.resize(source[cycle[(first + t) % len(cycle)]], size,
                       interpolation=cv2.INTER_AREA)[y:y + height,
                                                     x:x + width]
            for t in range(num_frames)]


def generate_videos(root: str, count: int, width: int, height: int,
                    seconds: float, fps: float, gop: Optional[int] = None,
                    codec: str = 'h264', footage_video: Optional[str] = None
                    ) -> Dict[str, str]:
    """``count`` videos of :func:`footage` (or of :func:`footage_of`
    ``footage_video``) and a list naming them (label 0); ``{'root',
    'list'}``."""
    import os.path as osp

    from ..utils.video import encode_video
    ext = 'webm' if codec == 'vp9' else 'mp4'
    names = []
    for i in range(count):
        name = f'video_{i:03d}.{ext}'
        frames = footage_of(footage_video, int(seconds * fps), height, width,
                            seed=i) if footage_video else \
            footage(int(seconds * fps), height, width, seed=i)
        encode_video(osp.join(root, name), frames, fps=fps, codec=codec,
                     gop=gop)
        names.append(name)
    list_file = osp.join(root, 'list.txt')
    with open(list_file, 'w') as f:
        f.writelines(f'{n} 0\n' for n in names)
    return dict(root=root, list=list_file)


def compare_pipelines(datasets: Dict[str, object], samples: int,
                      rounds: int = 7) -> dict:
    """Clips per second of several datasets (pipelines) on the same
    videos, measured in alternated rounds (A B B A ...) in this process, so
    that the drift of a shared machine falls on all alike.

    Args:
        datasets (dict): name -> built dataset.
        samples (int): Clips per round and dataset (the same clips, same
            seeds, for every dataset).
        rounds (int): Rounds; the order alternates. Defaults to 7.

    Returns:
        dict: name -> ``{clips_per_s: [per round], min_s_per_clip,
        median_s_per_clip}``, and ``ratio_to_first``: name -> ``{min,
        median}`` of the first dataset's time over this one's (above 1:
        faster).
    """
    names = list(datasets)
    times = {n: [] for n in names}
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            report = measure_pipeline(datasets[name], samples, warmup=1,
                                      seed=r)
            times[name].append(report['s_per_clip'])
    out = {n: dict(clips_per_s=[1 / t for t in times[n]],
                   min_s_per_clip=float(np.min(times[n])),
                   median_s_per_clip=float(np.median(times[n])))
           for n in names}
    first = out[names[0]]
    out['ratio_to_first'] = {
        n: dict(min=first['min_s_per_clip'] / out[n]['min_s_per_clip'],
                median=first['median_s_per_clip'] /
                out[n]['median_s_per_clip'])
        for n in names}
    return out
