"""Export a trained AIM recognizer for deployment, and check the file.

    python tools/deployment/export.py CONFIG CHECKPOINT --out FILE
        [--format onnx|torch_export] [--views 3] [--batch 1]
        [--benchmark N] [--cfg-options ...]

The format follows ``--out``'s extension: ``.onnx`` for ONNX, ``.pt2``
for ``torch.export``; ``--format``, if given, must agree with it.

The file maps raw clips ``[batch, views, 3, T, H, W]`` (RGB, 0-255) to
class scores ``[batch, num_classes]``: normalisation, backbone, head and the
averaging of views (the config's ``average_clips``) in one graph, with the
config's frames and frame size (``--output logits``: every view's logits
instead). The tool then runs the file (ONNX Runtime on
the CPU, or the exported program) on fresh random clips against PyTorch
eager and fails if they differ by more than 1e-4. ``--benchmark N`` times
both, alternated (A B B A ...), N times each, and prints the minimum and
the median. ``--views`` and ``--batch`` below 1, a negative
``--benchmark``, an ``--out`` of another extension than its format's, an
``--out`` that is a directory and a config whose model cannot be built
(``model.backbone.num_frames=0``) end the tool with one ``error:`` line.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

import mmaction_aim  # noqa: E402,F401
import numpy as np  # noqa: E402
import torch  # noqa: E402

from mmaction_aim.apis import (DeployableRecognizer,  # noqa: E402
                               check_export, export_recognizer,
                               load_recognizer)
from mmaction_aim.apis.export import (SUFFIXES, example_input,  # noqa: E402
                                      format_of)
from mmaction_aim.utils import (add_cfg_options, at_least,  # noqa: E402
                                main_with_clear_errors, read_config,
                                writable_file)

TOLERANCE = 1e-4


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='a full or adapter-only file')
    parser.add_argument('--out', required=True,
                        help='the file: .onnx (ONNX) or .pt2 (torch.export);'
                        ' its extension picks the format')
    parser.add_argument('--format', choices=list(SUFFIXES),
                        help='onnx (.onnx) or torch_export (.pt2); must '
                        "agree with --out's extension (default: the format "
                        'it names)')
    parser.add_argument('--views', type=at_least(int, 1), default=1,
                        help='views per video (e.g. 3 clips x 1 crop: 3)')
    parser.add_argument('--batch', type=at_least(int, 1), default=1)
    parser.add_argument('--output', default='scores',
                        choices=['scores', 'logits'],
                        help='scores: views averaged as the head does '
                        '[batch, classes]; logits: every view\'s '
                        '[batch, views, classes]')
    parser.add_argument('--benchmark', type=at_least(int, 0), default=0,
                        help='time the file against eager, N times each '
                        '(0: no timing)')
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if osp.isdir(args.out):  # refused as such, before the model loads
        return args
    try:
        named = format_of(args.out)
    except ValueError as exc:
        parser.error(f'argument --out: {exc}')
    if args.format is not None and args.format != named:
        parser.error(f'argument --out: --format {args.format} writes a '
                     f'{SUFFIXES[args.format]} file, not {args.out}')
    args.format = named
    return args


def benchmark(model, path: str, fmt: str, views: int, batch: int,
              repeats: int, output: str = 'scores') -> dict:
    """Alternated timings (seconds per call) of eager and the file."""
    clips = example_input(model, views, batch, seed=2)
    eager = DeployableRecognizer(model, output).eval()
    if fmt == 'onnx':
        import onnxruntime
        session = onnxruntime.InferenceSession(
            path, providers=['CPUExecutionProvider'])
        name = session.get_inputs()[0].name
        data = clips.numpy()

        def exported():
            return session.run(None, {name: data})
    else:
        program = torch.export.load(path).module()

        def exported():
            with torch.no_grad():
                return program(clips)

    def pytorch():
        with torch.no_grad():
            return eager(clips)

    runs = {'eager': pytorch, fmt: exported}
    times = {k: [] for k in runs}
    for fn in runs.values():
        fn()  # warm-up
    for r in range(repeats):
        order = list(runs) if r % 2 == 0 else list(runs)[::-1]
        for key in order:
            start = time.perf_counter()
            runs[key]()
            times[key].append(time.perf_counter() - start)
    return {k: dict(min_s=float(np.min(v)), median_s=float(np.median(v)),
                    times_s=v) for k, v in times.items()}


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = read_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    writable_file(args.out, '.onnx or .pt2')  # before the model loads
    model = load_recognizer(cfg, args.checkpoint)
    start = time.time()
    export_recognizer(model, args.out, args.format, args.views, args.batch,
                      args.output)
    print(f'wrote {args.out} ({args.format}, {args.batch} x {args.views} '
          f'views) in {time.time() - start:.1f} s', flush=True)
    diff, scale = check_export(model, args.out, args.format, args.views,
                               args.batch, output=args.output)
    print(f'{"ONNX Runtime" if args.format == "onnx" else "exported program"}'
          f' vs PyTorch eager: largest difference {diff:.2e} (scores up to '
          f'{scale:.3f})')
    if diff > TOLERANCE:
        raise RuntimeError(f'the exported model differs from PyTorch by '
                           f'{diff:.2e} > {TOLERANCE}')
    report = dict(file=args.out, format=args.format, max_abs_diff=diff)
    if args.benchmark:
        report['timing'] = benchmark(model, args.out, args.format,
                                     args.views, args.batch, args.benchmark,
                                     args.output)
        for key, t in report['timing'].items():
            print(f'{key:<13} min {t["min_s"]:.3f} s  median '
                  f'{t["median_s"]:.3f} s')
    return report


if __name__ == '__main__':
    main_with_clear_errors(main)
