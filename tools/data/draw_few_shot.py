"""Draw K-shot training lists from a full one, reproducibly.

For every K, every class keeps K of its clips; the rest are dropped::

    python tools/data/draw_few_shot.py \
        data/ucf101/ucf101_train_split_1_videos.txt \
        --shots 2 4 8 16 --seed 0 --out-dir data/ucf101/few_shot

writes ``ucf101_train_split_1_videos_k2_seed0.txt`` (``_k4``, ``_k8``,
``_k16``): MMAction2 ``VideoDataset`` lists (``path label`` a line), the
kept lines as written, in the full list's order.

Which clips a class keeps: its clips ranked by the SHA-256 of the seed and
the clip's path, the first K. So the same list and seed give the same
lists on any machine and Python, whatever the order of the full list's
lines; and the K-shot list of a seed holds the clips of its smaller-K lists
(K = 2 within K = 4, ...), so that rows of a table differ only by the clips
added. A class with fewer than K clips is refused, naming the classes,
unless ``--allow-fewer`` (those classes keep all their clips, and the tool
says so).
"""
import argparse
import hashlib
import os
import os.path as osp
import sys
from collections import defaultdict
from typing import Dict, List, Sequence

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmaction_aim.datasets import (ListEntry,  # noqa: E402
                                   VideoListError, read_video_list)
from mmaction_aim.utils import (BadInputError, at_least,  # noqa: E402
                                main_with_clear_errors)


def rank(seed: int, filename: str) -> str:
    """A clip's place in its class's draw for ``seed`` (lower first)."""
    return hashlib.sha256(f'{seed}\n{filename}'.encode()).hexdigest()


def by_class(entries: Sequence[ListEntry]) -> Dict[int, List[ListEntry]]:
    """Each label's entries, in list order."""
    classes = defaultdict(list)
    for entry in entries:
        classes[entry.label].append(entry)
    return dict(classes)


def draw(entries: Sequence[ListEntry], shots: int, seed: int,
         allow_fewer: bool = False) -> List[ListEntry]:
    """The entries a K-shot list keeps (pure).

    Args:
        entries (Sequence[ListEntry]): The full list, one label a line.
        shots (int): K, clips kept per class.
        seed (int): The draw's seed.
        allow_fewer (bool): Keep every clip of a class with fewer than K
            instead of refusing. Defaults to False.

    Returns:
        list[ListEntry]: The kept entries, in the full list's order.

    Raises:
        BadInputError: A class with fewer than K clips (unless
            ``allow_fewer``), naming up to ten of them with their counts.
    """
    classes = by_class(entries)
    short = sorted((label, len(items)) for label, items in classes.items()
                   if len(items) < shots)
    if short and not allow_fewer:
        named = ', '.join(f'label {label} ({count})'
                          for label, count in short[:10])
        more = f' and {len(short) - 10} more' if len(short) > 10 else ''
        raise BadInputError(
            f'K={shots} needs {shots} clips of every class, but these have '
            f'fewer: {named}{more}; choose a smaller K, or give '
            '--allow-fewer to keep all clips of those classes')
    kept = set()
    for items in classes.values():
        ranked = sorted(items, key=lambda e: (rank(seed, e.filename),
                                              e.line))
        kept.update(e.line for e in ranked[:shots])
    return [e for e in entries if e.line in kept]


def out_path(list_file: str, out_dir: str, shots: int, seed: int) -> str:
    """``OUT_DIR/<list name>_k<K>_seed<seed>.txt``."""
    stem = osp.splitext(osp.basename(list_file))[0]
    return osp.join(out_dir, f'{stem}_k{shots}_seed{seed}.txt')


def read_labelled_list(path: str) -> List[ListEntry]:
    """A full list: ``path label`` lines with labels >= 0.

    Raises:
        FileNotFoundError: No such list.
        BadInputError: A directory, an empty list, malformed lines or a
            video listed twice (named with their line numbers).
    """
    if osp.isdir(path):
        raise BadInputError(f'{path} is a directory; give a video list file')
    if not osp.isfile(path):
        raise FileNotFoundError(2, 'video list does not exist', path)
    entries = read_video_list(path)
    negative = [f'line {e.line}: label {e.label} is negative'
                for e in entries if e.label < 0]
    if negative:
        raise VideoListError(f'{path}: {len(negative)} bad lines: '
                             + '; '.join(negative[:10]))
    if not entries:
        raise BadInputError(f'{path} lists no videos')
    lines = defaultdict(list)
    for entry in entries:
        lines[entry.filename].append(entry.line)
    twice = [(name, numbers) for name, numbers in lines.items()
             if len(numbers) > 1]
    if twice:
        named = '; '.join(f'{name} on lines {numbers}'
                          for name, numbers in twice[:10])
        raise VideoListError(
            f'{path} lists {len(twice)} videos more than once (a K-shot '
            f'list would hold one clip twice): {named}')
    return entries


def write(entries: Sequence[ListEntry], path: str) -> None:
    """Write ``entries`` as a list; an existing file is replaced only by the
    same lines (a drawing repeated).

    Raises:
        BadInputError: ``path`` exists with other lines.
    """
    text = ''.join(f'{e.filename} {e.label}\n' for e in entries)
    if osp.exists(path):
        with open(path) as f:
            if f.read() != text:
                raise BadInputError(
                    f'{path} exists with other lines (another list or seed?); '
                    'remove it or choose another --out-dir')
        return
    with open(path, 'w') as f:
        f.write(text)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Draw K-shot training lists from a full video list, '
        'reproducibly (per class, K clips ranked by SHA-256 of the seed and '
        'the path)')
    parser.add_argument('list', help='the full list (path label a line)')
    parser.add_argument('--shots', type=at_least(int, 1), nargs='+',
                        action='extend', required=True, metavar='K',
                        help='clips per class of each list (e.g. 2 4 8 16)')
    parser.add_argument('--seed', type=at_least(int, 0), default=0,
                        help='the draw\'s seed (default 0)')
    parser.add_argument('--out-dir', required=True,
                        help='where the lists are written')
    parser.add_argument('--allow-fewer', action='store_true',
                        help='keep every clip of a class with fewer than K '
                        'instead of refusing')
    args = parser.parse_args(argv)
    if len(set(args.shots)) != len(args.shots):
        parser.error(f'--shots names a K twice: {args.shots}')
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    entries = read_labelled_list(args.list)
    if osp.exists(args.out_dir) and not osp.isdir(args.out_dir):
        raise BadInputError(f'--out-dir {args.out_dir} is a file; the lists '
                            'need a directory')
    draws = {k: draw(entries, k, args.seed, args.allow_fewer)
             for k in sorted(args.shots)}
    paths = {k: out_path(args.list, args.out_dir, k, args.seed)
             for k in draws}
    if any(osp.abspath(p) == osp.abspath(args.list) for p in paths.values()):
        raise BadInputError(f'{args.list} would be overwritten; choose '
                            'another --out-dir')
    os.makedirs(args.out_dir, exist_ok=True)
    classes = by_class(entries)
    empty = sorted(set(range(max(classes) + 1)) - set(classes))
    if empty:
        print(f'labels without a clip in {args.list} (no list has them): '
              f'{empty[:10]}' + (' ...' if len(empty) > 10 else ''))
    for k, kept in draws.items():
        write(kept, paths[k])
        fewer = sorted(label for label, items in classes.items()
                       if len(items) < k)
        note = (f' (fewer than {k} clips, all kept: labels {fewer[:10]}'
                + (' ...' if len(fewer) > 10 else '') + ')' if fewer else '')
        print(f'K={k}: {len(kept)} clips of {len(classes)} classes -> '
              f'{paths[k]}{note}')


if __name__ == '__main__':
    main_with_clear_errors(main)
