"""Find every missing or undecodable video before training.

    python tools/check_dataset.py CONFIG [--splits train val test]
    python tools/check_dataset.py LIST.txt --data-prefix DIR

Reads the MMAction2 ``VideoDataset`` lists a config uses (or one list file),
checks that every line has a label within the model's classes (the
config's ``model.cls_head.num_classes``, or ``--num-classes``), that each
video exists and that decord decodes its first, middle and last frames, and
prints every bad line and file with the reason. Exits with status 1 if
anything is bad, 0 otherwise.

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


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Check that the videos of a dataset exist and decode')
    parser.add_argument('source', help='config file (.py) or video list')
    parser.add_argument('--data-prefix', default='',
                        help='directory the list names are relative to '
                        '(list files only)')
    parser.add_argument('--num-classes', type=int,
                        help='check labels against this class count (list '
                        "files; a config's own is "
                        'model.cls_head.num_classes)')
    parser.add_argument('--delimiter', default=' ',
                        help='column separator of a list file')
    parser.add_argument('--splits', nargs='+', default=['train', 'val',
                                                        'test'],
                        help='which dataloaders of a config to check')
    parser.add_argument('--exists-only', action='store_true',
                        help='only check that the files exist (fast)')
    parser.add_argument('--workers', type=int, default=0,
                        help='processes to decode with (0: this one)')
    parser.add_argument('--limit', type=int, default=50,
                        help='bad files printed per list')
    parser.add_argument('--cfg-options', nargs='+', default=None,
                        help='config overrides, key=value')
    return parser.parse_args(argv)


def lists_to_check(args: argparse.Namespace) -> tuple:
    """``(name -> (ann_file, prefix, delimiter), num_classes)`` from the
    arguments."""
    if not args.source.endswith('.py'):
        return {args.source: (args.source, args.data_prefix,
                              args.delimiter)}, args.num_classes
    import mmaction_aim  # noqa: F401  (custom_imports, mmaction:: bases)
    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(args.source)
    if args.cfg_options:
        options = argparse.Namespace()
        DictAction(option_strings=[], dest='o')(None, options,
                                               args.cfg_options)
        cfg.merge_from_dict(options.o)
    found = dataset_lists_of_config(cfg, args.splits)
    seen, lists = set(), {}
    for split, entry in found.items():
        if entry[:2] not in seen:  # val and test often share a list
            seen.add(entry[:2])
            lists[split] = entry
    head = cfg.get('model', {}).get('cls_head') or {}
    return lists, args.num_classes or head.get('num_classes')


def main(argv=None) -> int:
    """Check the lists; print the bad videos. Returns the exit status."""
    args = parse_args(argv)
    lists, num_classes = lists_to_check(args)
    if not lists:
        print(f'No video lists found in {args.source}', file=sys.stderr)
        return 2
    status = 0
    for name, (ann_file, prefix, delimiter) in lists.items():
        if not os.path.isfile(ann_file):
            print(f'[{name}] list file {ann_file} does not exist')
            status = 1
            continue
        try:
            entries = read_video_list(ann_file, delimiter)
        except VideoListError as exc:
            print(f'[{name}] {exc}')
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
    sys.exit(main())
