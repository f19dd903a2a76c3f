"""Extract AIM features of whole videos for downstream work.

    python tools/extract_features.py CONFIG CHECKPOINT --list LIST \
        --out DIR [--root DIR] [--output frames|pooled|both]
        [--clip-len T] [--frame-interval K] [--stride S | --stride-seconds X]
        [--batch-size 8] [--device cpu|cuda] [--cfg-options ...]

One ``<video name>.npz`` per video under ``--out`` (the list's relative
path, extension replaced): sliding windows of ``clip-len`` frames every
``frame-interval`` (default: the config's test sampling), starting every
``stride`` frames (default: back to back), covering the whole video;
``frames`` holds each window's per-frame features ``[W, T, D]`` (the
backbone's ``mode='tensor'`` output: each frame's class token after the
final norm), ``pooled`` their mean ``[W, D]``; ``starts``, ``frame_inds``,
``fps``, ``total_frames`` place them in time. Full or adapter-only
checkpoints.

``--clip-len`` other than the config's frames builds the model for that
many (``model.backbone.num_frames``): a full checkpoint's temporal
embedding is interpolated as it loads; an adapter-only one is refused. A
video shorter than one window gives one window, padded as the config's test
sampler pads (its ``out_of_bound_opt``: ``loop`` by default, or
``repeat_last``), said on its line.

Videos already written are skipped (files are written under a temporary
name and renamed), so a run resumes; videos that cannot be decoded are
named at the end (exit status 1). Counts below 1, a ``--device`` this
machine lacks and an ``--out`` that cannot be a directory end the tool
with one ``error:`` line.
"""
import argparse
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmaction_aim  # noqa: E402,F401
import numpy as np  # noqa: E402

from mmaction_aim.apis import FeatureExtractor, load_recognizer  # noqa: E402
from mmaction_aim.datasets import (BadVideoError,  # noqa: E402
                                   format_bad_videos, read_video_list)
from mmaction_aim.datasets.video_check import check_video  # noqa: E402
from mmaction_aim.utils import (BadInputError,  # noqa: E402
                                add_cfg_options, at_least, available_device,
                                main_with_clear_errors, read_config)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='a full or adapter-only file')
    parser.add_argument('--list', required=True,
                        help='videos, one a line (a label column is '
                        'optional)')
    parser.add_argument('--root', default='', help='prefix of the list')
    parser.add_argument('--out', required=True,
                        help='the directory of the .npz files')
    parser.add_argument('--output', default='both',
                        choices=['frames', 'pooled', 'both'])
    parser.add_argument('--clip-len', type=at_least(int, 1), default=None,
                        help='frames per window (default: the config\'s '
                        'model.backbone.num_frames)')
    parser.add_argument('--frame-interval', type=at_least(int, 1),
                        default=None)
    stride = parser.add_mutually_exclusive_group()
    stride.add_argument('--stride', type=at_least(int, 1), default=None,
                        help='frames between window starts')
    stride.add_argument('--stride-seconds',
                        type=at_least(float, 0, above=True), default=None)
    parser.add_argument('--batch-size', type=at_least(int, 1), default=8)
    parser.add_argument('--device', type=available_device, default='cpu')
    parser.add_argument('--allow-other-image-model', action='store_true')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def make_output_dir(out: str) -> None:
    """Create ``out``, or raise :class:`BadInputError` saying why it
    cannot be the directory of the features."""
    if osp.exists(out) and not osp.isdir(out):
        raise BadInputError(f'--out {out} is a file; the features need a '
                            'directory')
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise BadInputError(f'--out {out}: cannot create the directory '
                            f'({exc.strerror})') from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise BadInputError(f'--out {out}: the directory is not writable')


def output_path(out: str, video: str) -> str:
    """``out/<video as listed, extension .npz>`` (an absolute path in the
    list is mirrored under ``out``, never written beside the video)."""
    rel = osp.splitdrive(video)[1].lstrip('/\\')
    return osp.join(out, osp.splitext(rel)[0] + '.npz')


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = read_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.clip_len is not None:
        # The model built for the clip; loading interpolates the temporal
        # embedding (AIMRecognizer.adapt_state_dict).
        cfg.model.backbone.num_frames = args.clip_len
    videos = [e.filename for e in read_video_list(args.list,
                                                  labelled=False)]
    if not videos:
        raise BadInputError(f'{args.list} lists no videos: nothing to '
                            'extract')
    make_output_dir(args.out)
    todo = [v for v in videos if not osp.isfile(output_path(args.out, v))]
    print(f'{len(videos)} videos, {len(videos) - len(todo)} already done, '
          f'{len(todo)} to extract', flush=True)
    if not todo:
        return 0
    model = load_recognizer(cfg, args.checkpoint, args.device,
                            args.allow_other_image_model)
    extractor = FeatureExtractor(
        model, cfg.test_dataloader.dataset.pipeline, args.clip_len,
        args.frame_interval, args.stride, args.batch_size,
        args.stride_seconds)
    keep = {'frames': ('frames', ), 'pooled': ('pooled', ),
            'both': ('frames', 'pooled')}[args.output]
    start, bad = time.time(), []
    for n, video in enumerate(todo, 1):
        path = osp.join(args.root, video)
        problem = check_video(path, decode=False)
        if problem:
            bad.append((video, problem))
            continue
        try:
            result = extractor.extract(path)
        except BadVideoError as exc:  # only decoding; the rest propagates
            bad.append((video, str(exc).split(': ', 1)[-1]))
            continue
        dst = output_path(args.out, video)
        os.makedirs(osp.dirname(dst) or '.', exist_ok=True)
        part = dst[:-4] + '.part.npz'
        np.savez(part, **{k: v for k, v in result.items()
                          if k not in ('frames', 'pooled') or k in keep})
        os.replace(part, dst)
        rate = n / (time.time() - start)
        total = int(result['total_frames'])
        padded = '' if total >= extractor.frames_per_window else (
            f' ({total} frames, fewer than the {extractor.frames_per_window}'
            f' a window spans: indices padded, out_of_bound_opt='
            f'{extractor.out_of_bound!r})')
        print(f'[{n}/{len(todo)}] {video}: {len(result["starts"])} windows'
              f'{padded}; {rate:.2f} videos/s, '
              f'{(len(todo) - n) / rate:.0f} s left', flush=True)
    if bad:
        print(f'{len(bad)} video(s) could not be decoded:\n'
              f'{format_bad_videos(bad, limit=len(bad))}', file=sys.stderr)
        return 1
    print(f'features of {len(videos)} videos in {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main_with_clear_errors(main))
