"""Clips per second per loader process for a config's pipelines, where the
time goes, and how many loader cores one GPU needs.

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
``AIMVideoDataset(num_repeats=K)`` with each decoder, which opens a video
once, decodes the frames of K clips in one pass and augments each clip
(``<decoder>+repeat<K>``; ``--sample-once``: K augmentations of the same
frames).
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
from typing import Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

import mmaction_aim  # noqa: E402,F401
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from mmaction.registry import DATASETS  # noqa: E402
from mmaction_aim.analysis.loader import (  # noqa: E402
    compare_pipelines, cores_per_gpu, decoding_share, generate_videos,
    measure_pipeline, single_threaded)
from mmaction_aim.datasets.transforms import (  # noqa: E402
    with_decoder, with_mean_fill)
from mmaction_aim.utils import main_with_clear_errors  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--splits', nargs='+', default=['train', 'test'],
                        choices=['train', 'val', 'test'])
    parser.add_argument('--list', help='a video list (default: generate)')
    parser.add_argument('--root', default='', help='the list\'s video root')
    parser.add_argument('--generate', type=int, default=8,
                        help='videos to generate when no --list is given')
    parser.add_argument('--size', default='640x360',
                        help='generated videos: WIDTHxHEIGHT')
    parser.add_argument('--seconds', type=float, default=10.)
    parser.add_argument('--fps', type=float, default=30.)
    parser.add_argument('--gop', type=int, default=None,
                        help='generated videos\' keyframe interval')
    parser.add_argument('--codec', default='h264', choices=['h264', 'vp9'])
    parser.add_argument('--footage', default=None,
                        help='make the generated videos from this video\'s '
                        'frames')
    parser.add_argument('--samples', type=int, default=40,
                        help='clips timed per pipeline')
    parser.add_argument('--gpu-clips-per-s', type=float, default=None,
                        help='training clips per second of one GPU')
    parser.add_argument('--model-benchmark', default=None,
                        help='a benchmark.py JSON: its AIM training '
                        'throughput is the GPU side')
    parser.add_argument('--decoders', nargs='+', default=None,
                        choices=['decord', 'sparse', 'torchcodec'],
                        help='compare decoders side by side (first: the '
                        'reference of the ratios)')
    parser.add_argument('--repeats', type=int, default=None,
                        help='also measure repeated sampling: this many '
                        'clips per video read (train split)')
    parser.add_argument('--sample-once', action='store_true',
                        help='with --repeats: the same frames for every '
                        'repeat')
    parser.add_argument('--rounds', type=int, default=7,
                        help='alternated rounds of --decoders')
    parser.add_argument('--out', default=None, help='write JSON here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def gpu_throughput(args) -> float:
    """Training clips per second of one GPU, stated or measured."""
    if args.model_benchmark:
        with open(args.model_benchmark) as f:
            report = json.load(f)
        return report['batch_size'] / report['summary']['aim']['train_s']
    return args.gpu_clips_per_s


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
        ds.update(type='AIMVideoDataset', num_repeats=repeats,
                  sample_once=sample_once)
    init_default_scope('mmaction')
    return DATASETS.build(ds)


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    single_threaded()
    with tempfile.TemporaryDirectory() as tmp:
        if args.list:
            videos = dict(list=args.list, root=args.root)
            source = f'list {args.list}'
        else:
            width, height = map(int, args.size.split('x'))
            print(f'generating {args.generate} {args.codec} videos of '
                  f'{width}x{height}, {args.seconds:g} s at {args.fps:g} fps'
                  f'{f", keyframe every {args.gop}" if args.gop else ""}',
                  flush=True)
            videos = generate_videos(tmp, args.generate, width, height,
                                     args.seconds, args.fps, args.gop,
                                     args.codec, footage_video=args.footage)
            source = (f'{args.generate} generated {args.codec} videos'
                      f'{f" of {args.footage}" if args.footage else ""}, '
                      f'{args.size}, {args.seconds:g} s, {args.fps:g} fps, '
                      f'gop {args.gop or "encoder default"}')
        gpu = gpu_throughput(args)
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
