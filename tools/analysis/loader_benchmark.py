"""Measure a config's video pipelines: clips per second per loader process,
where the time goes, and how many loader cores one GPU needs.

    python tools/analysis/loader_benchmark.py CONFIG [--splits train test]
        [--list LIST --root DIR | --generate N [--size 640x360]
         [--seconds 10] [--fps 30] [--gop G] [--codec h264|vp9]]
        [--samples 40] [--gpu-clips-per-s X | --model-benchmark B.json]
        [--footage VIDEO]
        [--decoders decord sparse torchcodec [--rounds 7]]
        [--repeats K [--sample-once]] [--out results.json]
        [--cfg-options ...]

Each pipeline runs in this process as a dataloader worker runs it: one
transform after another, one thread (decord's default, OpenCV and torch
set to 1). Without a list, ``--generate`` writes videos of textured,
panning, noisy footage with the packaged FFmpeg (x264 defaults, a long GOP
unless ``--gop``), or, with ``--footage VIDEO``, videos made from that
video's frames (scaled and cropped to ``--size``, played forward and back
to ``--seconds``): real footage encodes and decodes differently. The GPU
side: ``--gpu-clips-per-s`` (training clips per
second of one GPU), or ``--model-benchmark`` (a ``tools/analysis/
benchmark.py`` JSON: its AIM training throughput). ``--decoders decord
sparse`` also measures the pipelines with each decoder on the same clips,
in alternated rounds, and prints the ratio (``SparseInit``/``SparseDecode``
in place of decord's pair: the same sampled frames, bit for bit).
``--repeats K`` adds repeated sampling to that comparison (training only):
``AIMRepeatedVideoDataset(num_repeats=K)`` with each decoder, which opens
a video once, decodes the frames of K clips in one pass and augments each clip
(``<decoder>+repeat<K>``; ``--sample-once``: K augmentations of the same
frames).

A decoder whose library does not load here (torchcodec without FFmpeg's
shared libraries, ``sparse`` without PyAV) is refused, not measured: its
transforms would run another decoder under its name. Bad input (a count
below 1, a missing or unreadable file) ends in one ``error:`` line.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
from typing import Iterable, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

import mmaction_aim  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from mmaction.registry import DATASETS  # noqa: E402
from mmaction_aim.analysis.loader import (  # noqa: E402
    compare_pipelines, cores_per_gpu, decoding_share, generate_videos,
    measure_pipeline, single_threaded)
from mmaction_aim.datasets.transforms import (  # noqa: E402
    with_decoder, with_mean_fill)
from mmaction_aim.datasets.transforms.decoders import (  # noqa: E402
    DECODERS, backend_problem)
from mmaction_aim.datasets.video_check import (  # noqa: E402
    check_video, check_video_list, format_bad_videos)
from mmaction_aim.utils import (BadInputError, add_cfg_options,  # noqa: E402
                                at_least, main_with_clear_errors,
                                read_config, writable_file)


def frame_size(text: str):
    """An argparse ``type``: ``WIDTHxHEIGHT``, both even and positive (as
    H.264 and VP9 in 4:2:0 need)."""
    parts = text.split('x')
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 and
                                  int(p) % 2 == 0 for p in parts):
        raise argparse.ArgumentTypeError(
            f'WIDTHxHEIGHT of even positive integers is needed, got {text!r}')
    return tuple(map(int, parts))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--splits', nargs='+', default=['train', 'test'],
                        choices=['train', 'val', 'test'])
    parser.add_argument('--list', help='a video list (default: generate)')
    parser.add_argument('--root', default='', help='the list\'s video root')
    parser.add_argument('--generate', type=at_least(int, 1), default=8,
                        help='videos to generate when no --list is given')
    parser.add_argument('--size', type=frame_size, default=(640, 360),
                        help='generated videos: WIDTHxHEIGHT')
    parser.add_argument('--seconds', type=at_least(float, 0, above=True),
                        default=10.)
    parser.add_argument('--fps', type=at_least(float, 0, above=True),
                        default=30.)
    parser.add_argument('--gop', type=at_least(int, 1), default=None,
                        help='generated videos\' keyframe interval')
    parser.add_argument('--codec', default='h264', choices=['h264', 'vp9'])
    parser.add_argument('--footage', default=None,
                        help='make the generated videos from this video\'s '
                        'frames')
    parser.add_argument('--samples', type=at_least(int, 1), default=40,
                        help='clips timed per pipeline')
    parser.add_argument('--gpu-clips-per-s',
                        type=at_least(float, 0, above=True), default=None,
                        help='training clips per second of one GPU')
    parser.add_argument('--model-benchmark', default=None,
                        help='a benchmark.py JSON: its AIM training '
                        'throughput is the GPU side')
    parser.add_argument('--decoders', nargs='+', default=None,
                        choices=['decord', *DECODERS],
                        help='compare decoders side by side (first: the '
                        'reference of the ratios)')
    parser.add_argument('--repeats', type=at_least(int, 2), default=None,
                        help='also measure repeated sampling: this many '
                        'clips per video read, 2 or more (train split)')
    parser.add_argument('--sample-once', action='store_true',
                        help='with --repeats: the same frames for every '
                        'repeat')
    parser.add_argument('--rounds', type=at_least(int, 1), default=7,
                        help='alternated rounds of --decoders')
    parser.add_argument('--out', default=None, help='write JSON here')
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if args.decoders and len(set(args.decoders)) < len(args.decoders):
        parser.error(f'--decoders: each decoder once, got {args.decoders}')
    return args


def check_inputs(args) -> None:
    """Refuse, in one sentence, a file argument that cannot be used and a
    decoder that cannot run here (before any video is generated)."""
    if args.list and not osp.isfile(args.list):
        raise BadInputError(f'--list {args.list}: ' + (
            'a directory, not a video list' if osp.isdir(args.list) else
            'no such file'))
    if args.list and args.root and not osp.isdir(args.root):
        raise BadInputError(f'--root {args.root}: not a directory')
    if args.repeats and 'train' not in args.splits:
        raise BadInputError('--repeats measures repeated sampling of the '
                            'train split: add train to --splits')
    if args.sample_once and not args.repeats:
        raise BadInputError('--sample-once is a kind of repeated sampling: '
                            'give --repeats K')
    if args.out:
        writable_file(args.out, '.json')  # before the measurement
    if args.list:
        # Every listed video decodes, before anything is timed.
        bad = check_video_list(args.list, args.root or '')
        if bad:
            raise BadInputError(f'--list {args.list}: '
                                f'{len(bad)} video(s) cannot be used:\n'
                                + format_bad_videos(bad))
    if args.footage and not args.list:
        reason = ('a directory, not a video' if osp.isdir(args.footage)
                  else 'no such file' if not osp.exists(args.footage)
                  else check_video(args.footage))
        if reason:
            raise BadInputError(f'--footage {args.footage}: {reason}')
    if not args.list and int(args.seconds * args.fps) < 1:
        raise BadInputError(f'--seconds {args.seconds:g} at --fps '
                            f'{args.fps:g} makes no frame')
    refuse_unloadable(args.decoders or ())


def refuse_unloadable(decoders: Iterable[str]) -> None:
    """What is measured must be what ran: a decoder whose library does not
    load here is refused (its transforms would run decord instead)."""
    for decoder in decoders:
        problem = backend_problem(decoder)
        if problem:
            raise BadInputError(f'decoder {decoder!r} cannot be measured '
                                f'here: {problem}')


def gpu_throughput(args) -> Optional[float]:
    """Training clips per second of one GPU, stated or measured."""
    if not args.model_benchmark:
        return args.gpu_clips_per_s
    with open(args.model_benchmark) as f:
        try:
            report = json.load(f)
            return report['batch_size'] / report['summary']['aim']['train_s']
        except (ValueError, KeyError, TypeError, ZeroDivisionError) as exc:
            raise BadInputError(
                f'--model-benchmark {args.model_benchmark}: not a JSON of '
                f'tools/analysis/benchmark.py with an AIM training time '
                f'({type(exc).__name__}: {exc})') from None


def dataset_of(cfg: Config, split: str, list_file: str, root: str,
               decoder: Optional[str] = None, repeats: int = 1,
               sample_once: bool = False):
    """The split's dataset on ``list_file``, with ``decoder`` in place of
    the config's (None: the config's) and ``repeats`` clips per video read
    (fills a ``'mean'`` erasing colour with the config's mean, or grey:
    timing only)."""
    ds = dict(cfg[f'{split}_dataloader'].dataset)
    mean = cfg.model.get('data_preprocessor', {}).get('mean')
    mean = mean if isinstance(mean, (list, tuple)) else [128.] * 3
    pipeline = with_mean_fill(ds['pipeline'], mean)
    if decoder is not None:
        ds.pop('decoder', None)
        pipeline = with_decoder(pipeline, decoder)
    ds.update(ann_file=list_file, data_prefix=dict(video=root),
              pipeline=pipeline)
    ds.pop('preload', None)
    if repeats > 1:
        ds.update(type='AIMRepeatedVideoDataset', num_repeats=repeats,
                  sample_once=sample_once)
    init_default_scope('mmaction')
    dataset = DATASETS.build(ds)
    names = {type(t).__name__ for t in dataset.pipeline.transforms}
    refuse_unloadable(d for d, (init, _) in DECODERS.items() if init in names)
    return dataset


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = read_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    check_inputs(args)
    gpu = gpu_throughput(args)
    single_threaded()
    with tempfile.TemporaryDirectory() as tmp:
        if args.list:
            videos = dict(list=args.list, root=args.root)
            source = f'list {args.list}'
        else:
            width, height = args.size
            print(f'generating {args.generate} {args.codec} videos of '
                  f'{width}x{height}, {args.seconds:g} s at {args.fps:g} fps'
                  f'{f", keyframe every {args.gop}" if args.gop else ""}',
                  flush=True)
            videos = generate_videos(tmp, args.generate, width, height,
                                     args.seconds, args.fps, args.gop,
                                     args.codec, footage_video=args.footage)
            source = (f'{args.generate} generated {args.codec} videos'
                      f'{f" of {args.footage}" if args.footage else ""}, '
                      f'{width}x{height}, {args.seconds:g} s, '
                      f'{args.fps:g} fps, '
                      f'gop {args.gop or "encoder default"}')
        report = dict(config=args.config, videos=source, splits={})
        for split in args.splits:
            dataset = dataset_of(cfg, split, videos['list'], videos['root'])
            result = measure_pipeline(dataset, args.samples)
            result['decoding_share'] = decoding_share(result)
            result['cores_per_gpu'] = cores_per_gpu(result['clips_per_s'],
                                                    gpu)
            report['splits'][split] = result
            print(f'{split}: {result["clips_per_s"]:.2f} clips/s per '
                  f'process, {100 * result["decoding_share"]:.0f}% decoding'
                  + (f', {result["cores_per_gpu"]:.1f} loader cores per GPU '
                     f'at {gpu:g} clips/s' if gpu else ''))
            for t in result['transforms']:
                print(f'    {t["name"]:<28} {1e3 * t["s_per_clip"]:8.2f} ms'
                      f'  {100 * t["share"]:5.1f}%')
            if args.decoders or (args.repeats and split == 'train'):
                names = args.decoders or ['decord']
                datasets = {d: dataset_of(cfg, split, videos['list'],
                                          videos['root'], d) for d in names}
                if args.repeats and split == 'train':
                    for d in names:
                        datasets[f'{d}+repeat{args.repeats}'] = dataset_of(
                            cfg, split, videos['list'], videos['root'], d,
                            args.repeats, args.sample_once)
                compared = compare_pipelines(datasets, args.samples,
                                             args.rounds)
                result['decoders'] = compared
                for d in datasets:
                    c, r = compared[d], compared['ratio_to_first'][d]
                    print(f'    {d:<18} {1 / c["min_s_per_clip"]:.2f} clips/s '
                          f'(best of {args.rounds}), '
                          f'{1 / c["median_s_per_clip"]:.2f} (median); '
                          f'x{r["min"]:.2f} / x{r["median"]:.2f} of '
                          f'{names[0]}')
    report['gpu_clips_per_s'] = gpu
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == '__main__':
    main_with_clear_errors(main)
