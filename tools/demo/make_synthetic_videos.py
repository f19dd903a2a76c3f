"""Write the demo's synthetic video task (train/val/test) to disk.

Every class is a shape and a motion; moving classes come in time-reversed
twins (each clip is written forward and reversed). Output: ``.mp4`` files and
MMAction2 VideoDataset list files ``<split>.txt`` (``<split>/x.mp4 label``),
plus ``classes.json`` with the class names and twin pairs.

    python tools/demo/make_synthetic_videos.py --out data/demo_synthetic
"""
import argparse
import os
import sys
import time

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(
    __file__)), '..', '..'))
sys.path.insert(0, REPO)  # the repository root: projects/ is importable

from projects.synthetic_demo.synthetic import (  # noqa: E402
    SHAPES, make_video_dataset)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/demo_synthetic')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--train', type=int, default=24,
                        help='videos per class in the training split')
    parser.add_argument('--val', type=int, default=4)
    parser.add_argument('--test', type=int, default=12)
    parser.add_argument('--shapes', nargs='+', default=['circle', 'square'],
                        choices=SHAPES)
    parser.add_argument('--num-frames', type=int, default=8)
    parser.add_argument('--size', type=int, default=32)
    parser.add_argument('--codec', default='mpeg4-opencv',
                        choices=['mpeg4-opencv', 'h264', 'vp9'],
                        help="the files' codec: OpenCV's MPEG-4 part 2, or "
                        "H.264 / VP9 (WebM) as Kinetics / SSv2 store theirs")
    args = parser.parse_args()

    start = time.time()
    files = make_video_dataset(
        args.out, seed=args.seed,
        clips_per_class=dict(train=args.train, val=args.val, test=args.test),
        shapes=args.shapes, num_frames=args.num_frames, size=args.size,
        codec=args.codec)
    for split, path in files.items():
        with open(path) as f:
            n = sum(1 for _ in f)
        print(f'{split}: {n} videos, list {path}')
    print(f'done in {time.time() - start:.1f}s')


if __name__ == '__main__':
    main()
