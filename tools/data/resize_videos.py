"""Resize a dataset's videos to a short side (256 by default), resumable.

The copy the original AIM trained on (``train_256`` / ``val_256``): every
video scaled down to the short side, aspect ratio kept, every frame kept,
H.264 (or VP9 for ``.webm``), no audio, optionally a chosen keyframe
interval. Decoding a 256-pixel copy is about twice as fast as the 640x360
original (docs/benchmark.md, the loader table)::

    python tools/data/resize_videos.py data/kinetics400/videos_train \
        data/kinetics400/train_256 [--list LIST] [--short-side 256] \
        [--gop 16] [--jobs 8]

Both sides of a copy are even, as H.264 and VP9 in 4:2:0 need: the short
side is ``--short-side`` (or the source's where smaller: never upscaled)
rounded down to even, the long side keeps the aspect ratio
(``mmaction_aim.datasets.transcode.transcode_command``).

Files already written are skipped (a copy is written under a temporary name
and renamed when complete), so an interrupted run resumes. Videos that
cannot be read are named at the end with FFmpeg's reason; the exit status
is 1 if there were any (a list entry that is a directory or missing
included). A source that is not a directory, or that holds no videos, a
destination that is the source or inside it (its copies would be taken as
videos to convert on the next run), and a ``--crf`` beyond what the
encoder takes (H.264: 0-51, VP9: 0-63) end the tool with one ``error:``
line.
"""
import argparse
import os
import os.path as osp
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

from mmaction_aim.datasets import format_bad_videos  # noqa: E402
from mmaction_aim.datasets.transcode import (MAX_CRF,  # noqa: E402
                                             check_crf, codec_of,
                                             transcode_video)
from mmaction_aim.utils import (BadInputError, at_least,  # noqa: E402
                                main_with_clear_errors)

VIDEO_EXTENSIONS = ('.mp4', '.webm', '.mkv', '.avi', '.mov', '.m4v')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src_dir', help='the videos')
    parser.add_argument('dst_dir', help='where the copies go (same '
                        'relative paths and names)')
    parser.add_argument('--list', help='only the videos of this MMAction2 '
                        'list (paths relative to src_dir, first column)')
    parser.add_argument('--short-side', type=at_least(int, 2), default=256)
    parser.add_argument('--gop', type=at_least(int, 1), default=None,
                        help='keyframe interval (default: the encoder\'s)')
    parser.add_argument('--crf', type=at_least(int, 0), default=None,
                        help='quality, lower is better (H.264: 0-'
                        f'{MAX_CRF["h264"]}, default 18; VP9 for .webm: '
                        f'0-{MAX_CRF["vp9"]}, default 30)')
    parser.add_argument('--jobs', type=at_least(int, 1),
                        default=os.cpu_count() or 1,
                        help='videos encoded at once (one thread each)')
    return parser.parse_args(argv)


def videos_of(src_dir: str, list_file: Optional[str] = None) -> List[str]:
    """Relative paths of the videos to convert, in a stable order.

    Raises:
        BadInputError: ``src_dir`` is not a directory, or there are no
            videos (in it, or in the list).
    """
    if not osp.isdir(src_dir):
        what = 'a file' if osp.exists(src_dir) else 'not there'
        raise BadInputError(f'{src_dir} is {what}: give the directory of '
                            'the videos')
    if list_file:
        with open(list_file) as f:
            videos = [line.split()[0] for line in f if line.strip()]
        if not videos:
            raise BadInputError(f'{list_file} names no videos')
        return videos
    found = []
    for root, _, files in os.walk(src_dir):
        for name in files:
            if name.lower().endswith(VIDEO_EXTENSIONS) and \
                    '.part.' not in name:
                found.append(osp.relpath(osp.join(root, name), src_dir))
    if not found:
        raise BadInputError(f'{src_dir} holds no videos '
                            f'({", ".join(VIDEO_EXTENSIONS)})')
    return sorted(found)


def check_destination(src_dir: str, dst_dir: str) -> None:
    """Refuse a destination that is a file, the source, or inside it.

    Raises:
        BadInputError: Saying which.
    """
    if osp.exists(dst_dir) and not osp.isdir(dst_dir):
        raise BadInputError(f'{dst_dir} is a file; the copies need a '
                            'directory')
    src, dst = osp.realpath(src_dir), osp.realpath(dst_dir)
    if dst == src:
        raise BadInputError(f'{dst_dir} is the source directory; the copies '
                            'need a directory of their own')
    if dst.startswith(src.rstrip(os.sep) + os.sep):
        raise BadInputError(f'{dst_dir} is inside the source {src_dir}: its '
                            'copies would be taken as videos to convert on '
                            'the next run; give a directory outside it')


def main(argv=None) -> int:
    args = parse_args(argv)
    videos = videos_of(args.src_dir, args.list)
    check_destination(args.src_dir, args.dst_dir)
    for codec in sorted({codec_of(v) for v in videos}):
        try:
            check_crf(args.crf, codec)
        except ValueError as exc:
            kinds = sorted({osp.splitext(v)[1].lower() for v in videos
                            if codec_of(v) == codec})
            raise BadInputError(f'--{exc}, the codec of the '
                                f'{", ".join(kinds)} copies') from None
    todo = [v for v in videos if not osp.isfile(osp.join(args.dst_dir, v))]
    print(f'{len(videos)} videos, {len(videos) - len(todo)} already done, '
          f'{len(todo)} to convert with {args.jobs} job(s)', flush=True)
    start, done, bad = time.time(), 0, []

    def one(video):
        return video, transcode_video(
            osp.join(args.src_dir, video), osp.join(args.dst_dir, video),
            short_side=args.short_side, gop=args.gop, crf=args.crf)

    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for video, error in pool.map(one, todo):
            done += 1
            if error:
                bad.append((video, error))
            if done % 100 == 0 or done == len(todo):
                rate = done / max(time.time() - start, 1e-9)
                eta = (len(todo) - done) / rate
                print(f'{done}/{len(todo)} ({rate:.1f} videos/s, '
                      f'{eta:.0f} s left)', flush=True)
    if bad:
        print(f'{len(bad)} video(s) could not be converted:\n'
              f'{format_bad_videos(bad, limit=len(bad))}', file=sys.stderr)
        return 1
    print(f'all {len(videos)} videos are in {args.dst_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main_with_clear_errors(main))
