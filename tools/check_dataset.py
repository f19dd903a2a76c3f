"""Find every missing or undecodable video before training.

    python tools/check_dataset.py CONFIG [--splits train val test]
    python tools/check_dataset.py LIST.txt --data-prefix DIR

Reads the MMAction2 ``VideoDataset`` lists a config uses (or one list file),
checks that every line has a label within the model's classes (the
config's ``model.cls_head.num_classes``, or ``--num-classes``), that each
video exists and that decord decodes its first, middle and last frames, and
prints every bad line and file with the reason. Exits with status 1 if
anything is bad (a list that names no videos included), 0 otherwise. A
source that is a directory, a config that cannot be read, ``--splits`` the
config has no list for (it names those it has), and options out of range
end the tool with one ``error:`` line.

    python tools/check_dataset.py LIST.txt --data-prefix DIR --num-classes 400
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mmaction_aim.datasets import (VideoListError,  # noqa: E402
                                   check_video_list,
                                   dataset_lists_of_config,
                                   format_bad_videos, label_problems,
                                   read_video_list)
from mmaction_aim.utils import (BadInputError,  # noqa: E402
                                add_cfg_options, at_least,
                                main_with_clear_errors, read_config)
from mmaction_aim.utils.cli import CONFIG_SUFFIXES  # noqa: E402

#: The dataloaders of an MMAction2 config.
SPLITS = ('train', 'val', 'test')


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Check that the videos of a dataset exist and decode')
    parser.add_argument('source', help='config file (.py) or video list')
    parser.add_argument('--data-prefix', default='',
                        help='directory the list names are relative to '
                        '(list files only)')
    parser.add_argument('--num-classes', type=at_least(int, 1),
                        help='check labels against this class count (list '
                        "files; a config's own is "
                        'model.cls_head.num_classes)')
    parser.add_argument('--delimiter', default=' ',
                        help='column separator of a list file')
    parser.add_argument('--splits', nargs='+', choices=SPLITS,
                        help='which dataloaders of a config to check '
                        '(default: every one it has)')
    parser.add_argument('--exists-only', action='store_true',
                        help='only check that the files exist (fast)')
    parser.add_argument('--workers', type=at_least(int, 0), default=0,
                        help='processes to decode with (0: this one)')
    parser.add_argument('--limit', type=at_least(int, 1), default=50,
                        help='bad files printed per list')
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if not is_config(args.source):
        for option, given in (('--splits', args.splits),
                              ('--cfg-options', args.cfg_options)):
            if given:
                parser.error(f'{option} applies to a config; '
                             f'{args.source} is read as a video list')
    return args


def is_config(source: str) -> bool:
    """Whether ``source`` is read as a config (by its suffix)."""
    return source.endswith(CONFIG_SUFFIXES)


def lists_to_check(args: argparse.Namespace) -> tuple:
    """``(name -> (ann_file, prefix, delimiter), num_classes)`` from the
    arguments.

    Raises:
        BadInputError: ``source`` is a directory, a config that cannot be
            read, or one without a list for every split of ``--splits``.
    """
    if os.path.isdir(args.source):
        raise BadInputError(
            f'{args.source} is a directory; give a config file '
            f'({", ".join(CONFIG_SUFFIXES)}) or a video list')
    if not is_config(args.source):
        return {args.source: (args.source, args.data_prefix,
                              args.delimiter)}, args.num_classes
    import mmaction_aim  # noqa: F401  (custom_imports, mmaction:: bases)
    cfg = read_config(args.source)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    present = dataset_lists_of_config(cfg, SPLITS)
    absent = [s for s in args.splits or () if s not in present]
    if absent or not present:
        has = (f'it has lists for {", ".join(present)} only' if present
               else 'it has no <split>_dataloader with an ann_file')
        raise BadInputError(
            f'{args.source} has no video list for '
            f'{" and ".join(absent) or "any split"}; {has}')
    found = {s: present[s] for s in args.splits or present}
    seen, lists = set(), {}
    for split, entry in found.items():
        if entry[:2] not in seen:  # val and test often share a list
            seen.add(entry[:2])
            lists[split] = entry
    head = cfg.get('model', {}).get('cls_head') or {}
    num_classes = args.num_classes if args.num_classes is not None else \
        head.get('num_classes')
    return lists, num_classes


def main(argv=None) -> int:
    """Check the lists; print the bad videos. Returns the exit status."""
    args = parse_args(argv)
    lists, num_classes = lists_to_check(args)
    status = 0
    for name, (ann_file, prefix, delimiter) in lists.items():
        if not os.path.isfile(ann_file):
            print(f'[{name}] list file {ann_file} ' +
                  ('is a directory, not a video list'
                   if os.path.isdir(ann_file) else 'does not exist'))
            status = 1
            continue
        try:
            entries = read_video_list(ann_file, delimiter)
        except VideoListError as exc:
            print(f'[{name}] {exc}')
            status = 1
            continue
        if not entries:
            print(f'[{name}] {ann_file} lists no videos')
            status = 1
            continue
        labels = label_problems(entries, num_classes) if num_classes else []
        if labels:
            status = 1
            print(f'[{name}] {ann_file}: {len(labels)} of {len(entries)} '
                  f'labels are outside the {num_classes} classes:\n' +
                  '\n'.join(f'  {p}' for p in labels[:args.limit]))
        bad = check_video_list(ann_file, prefix, delimiter,
                               decode=not args.exists_only,
                               num_workers=args.workers)
        total = len(entries)
        if bad:
            status = 1
            print(f'[{name}] {ann_file}: {len(bad)} of {total} videos are '
                  f'bad:\n{format_bad_videos(bad, args.limit)}')
        elif not labels:
            print(f'[{name}] {ann_file}: all {total} videos are good' +
                  (f' (labels within {num_classes} classes)' if num_classes
                   else ' (labels not checked: give --num-classes)'))
    return status


if __name__ == '__main__':
    sys.exit(main_with_clear_errors(main))
