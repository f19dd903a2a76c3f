"""MMAction2 ``VideoDataset`` lists from published dataset annotations.

Each dataset's own annotation files (as distributed by its authors) become

- ``<name>_train_list_videos.txt`` and ``<name>_val_list_videos.txt`` (or
  ``..._split_N_videos.txt`` for UCF101/HMDB51): one ``relative/path label``
  line per video, the format of MMAction2's ``VideoDataset``;
- ``label_map_<name>.txt``: class names, line ``i`` is label ``i``.

Usage (see ``docs/data_preparation.md``)::

    python tools/data/build_video_lists.py kinetics \
        --train data/kinetics400/annotations/train.csv \
        --val data/kinetics400/annotations/validate.csv \
        --name kinetics400 --out-dir data/kinetics400
    python tools/data/build_video_lists.py sthv2 \
        --labels data/sthv2/annotations/something-something-v2-labels.json \
        --train data/sthv2/annotations/something-something-v2-train.json \
        --val data/sthv2/annotations/something-something-v2-validation.json \
        --out-dir data/sthv2
    python tools/data/build_video_lists.py diving48 \
        --train data/diving48/annotations/Diving48_V2_train.json \
        --val data/diving48/annotations/Diving48_V2_test.json \
        --vocab data/diving48/annotations/Diving48_vocab.json \
        --out-dir data/diving48
    python tools/data/build_video_lists.py ucf101 \
        --ann-dir data/ucf101/annotations --out-dir data/ucf101
    python tools/data/build_video_lists.py hmdb51 \
        --ann-dir data/hmdb51/annotations --out-dir data/hmdb51

The parsing functions are pure (annotation text in, entries out), so they are
unit-tested on small files in each dataset's real format
(``tests/test_data_tools.py``).
"""
import argparse
import csv
import json
import os
import os.path as osp
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

Entry = Tuple[str, int]  # (video path relative to the data root, label)


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------
def write_list(entries: Iterable[Entry], path: str) -> int:
    """Write a ``VideoDataset`` list: one ``path label`` line per video.

    Args:
        entries (Iterable[Entry]): ``(relative path, label)`` pairs.
        path (str): Output file; parent folders are created.

    Returns:
        int: The number of lines written.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    count = 0
    with open(path, 'w') as f:
        for video, label in entries:
            if any(c.isspace() for c in video):
                raise ValueError(
                    f'Video path {video!r} contains white space, which '
                    'VideoDataset lists cannot hold (rename the files)')
            f.write(f'{video} {label}\n')
            count += 1
    return count


def write_label_map(classes: Sequence[str], path: str) -> None:
    """Write class names, one a line; line ``i`` names label ``i``.

    Args:
        classes (Sequence[str]): Class names in label order.
        path (str): Output file; parent folders are created.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.writelines(f'{name}\n' for name in classes)


def keep_existing(entries: Iterable[Entry], root: str) -> List[Entry]:
    """Drop the entries whose video file is missing under ``root``.

    Kinetics videos are fetched from YouTube, where a few percent have gone;
    the lists must only name the videos actually downloaded.

    Args:
        entries (Iterable[Entry]): ``(relative path, label)`` pairs.
        root (str): The folder the paths are relative to.

    Returns:
        List[Entry]: The entries whose file exists.
    """
    return [e for e in entries if osp.isfile(osp.join(root, e[0]))]


# --------------------------------------------------------------------------
# Kinetics-400/600/700
# --------------------------------------------------------------------------
def kinetics_folder_name(label: str) -> str:
    """The class folder of a Kinetics label, MMAction2's convention.

    MMAction2's download scripts replace spaces by underscores in the class
    folder names: ``petting animal (not cat)`` ->
    ``petting_animal_(not_cat)``.

    Args:
        label (str): Class name as written in the CSV.

    Returns:
        str: The folder name.
    """
    return label.replace(' ', '_')


def kinetics_video_name(youtube_id: str, time_start: float, time_end: float,
                        ext: str = '.mp4') -> str:
    """File name of a trimmed Kinetics clip.

    ``<youtube_id>_<start:06d>_<end:06d>.mp4``, MMAction2's naming.

    Args:
        youtube_id (str): The 11-character YouTube id.
        time_start (float): Start of the clip in seconds.
        time_end (float): End of the clip in seconds.
        ext (str): File extension. Defaults to ``'.mp4'``.

    Returns:
        str: The file name.
    """
    return f'{youtube_id}_{int(float(time_start)):06d}_' \
           f'{int(float(time_end)):06d}{ext}'


def read_kinetics_csv(path: str) -> List[Dict[str, str]]:
    """Read a Kinetics annotation CSV into rows (dicts keyed by the header).

    The header is ``label,youtube_id,time_start,time_end,split`` (Kinetics-400
    adds ``is_cc``); the test CSVs have no ``label`` column.

    Args:
        path (str): The CSV file.

    Returns:
        List[Dict[str, str]]: One dict per clip.
    """
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    required = {'youtube_id', 'time_start', 'time_end'}
    if rows and not required <= set(rows[0]):
        raise ValueError(f'{path} is not a Kinetics CSV: its header lacks '
                         f'{sorted(required - set(rows[0]))}')
    return rows


def kinetics_classes(rows: Iterable[Dict[str, str]]) -> List[str]:
    """Class names of Kinetics, sorted alphabetically (the official order).

    Args:
        rows (Iterable[Dict[str, str]]): Rows from :func:`read_kinetics_csv`.

    Returns:
        List[str]: Sorted unique labels.
    """
    return sorted({row['label'] for row in rows})


def kinetics_entries(rows: Iterable[Dict[str, str]], classes: Sequence[str],
                     layout: str = 'class', ext: str = '.mp4') -> List[Entry]:
    """``VideoDataset`` entries of a Kinetics split.

    Args:
        rows (Iterable[Dict[str, str]]): Rows from :func:`read_kinetics_csv`.
        classes (Sequence[str]): Class names in label order.
        layout (str): ``'class'`` for videos in one folder per class
            (``abseiling/<clip>.mp4``, MMAction2's layout) or ``'flat'`` for
            all videos in one folder. Defaults to ``'class'``.
        ext (str): Video file extension. Defaults to ``'.mp4'``.

    Returns:
        List[Entry]: ``(path, label)`` pairs.
    """
    if layout not in ('class', 'flat'):
        raise ValueError(f"layout must be 'class' or 'flat', got {layout!r}")
    index = {name: i for i, name in enumerate(classes)}
    entries = []
    for row in rows:
        if 'label' not in row:
            raise ValueError('This Kinetics CSV has no label column (the test '
                             'split); lists need labelled clips')
        name = kinetics_video_name(row['youtube_id'], row['time_start'],
                                   row['time_end'], ext)
        if layout == 'class':
            name = f"{kinetics_folder_name(row['label'])}/{name}"
        entries.append((name, index[row['label']]))
    return entries


# --------------------------------------------------------------------------
# Something-Something v2
# --------------------------------------------------------------------------
def sthv2_classes(labels: Dict[str, str]) -> List[str]:
    """Class templates of SSv2 in label order.

    Args:
        labels (Dict[str, str]): ``something-something-v2-labels.json``:
            template (``"Approaching something with your camera"``) -> index as
            a string (``"0"``).

    Returns:
        List[str]: The 174 templates, line ``i`` = label ``i``.
    """
    classes = sorted(labels, key=lambda name: int(labels[name]))
    if [int(labels[c]) for c in classes] != list(range(len(classes))):
        raise ValueError('SSv2 label indices are not 0..N-1')
    return classes


def sthv2_template_to_class(template: str) -> str:
    """``"Holding [something] next to [something]"`` -> the label-file key."""
    return template.replace('[', '').replace(']', '')


def sthv2_entries(items: Iterable[Dict], labels: Dict[str, str],
                  ext: str = '.webm') -> List[Entry]:
    """``VideoDataset`` entries of an SSv2 split.

    Args:
        items (Iterable[Dict]): ``something-something-v2-train.json`` or
            ``-validation.json``:
            ``{"id": "78687", "label": "...", "template": "Holding [something]
            next to [something]", "placeholders": [...]}``.
        labels (Dict[str, str]): The labels JSON (template -> index string).
        ext (str): Video file extension. Defaults to ``'.webm'`` (as
            distributed).

    Returns:
        List[Entry]: ``(<id>.webm, label)`` pairs.
    """
    entries = []
    for item in items:
        if 'template' not in item:
            raise ValueError(f"SSv2 item {item.get('id')!r} has no template "
                             '(the test split is unlabelled)')
        key = sthv2_template_to_class(item['template'])
        entries.append((f"{item['id']}{ext}", int(labels[key])))
    return entries


# --------------------------------------------------------------------------
# Diving-48
# --------------------------------------------------------------------------
def diving48_classes(vocab: Optional[List[List[str]]], num_classes: int = 48
                     ) -> List[str]:
    """Diving-48 class names from ``Diving48_vocab.json``.

    Args:
        vocab (List[List[str]], optional): One ``[takeoff, somersault, twist,
            flight]`` list per class. None names the classes ``class_<i>``.
        num_classes (int): Used when ``vocab`` is None. Defaults to 48.

    Returns:
        List[str]: Names such as ``Back_15som_05Twis_FREE``.
    """
    if vocab is None:
        return [f'class_{i}' for i in range(num_classes)]
    return ['_'.join(str(part) for part in parts) for parts in vocab]


def diving48_entries(items: Iterable[Dict], ext: str = '.mp4') -> List[Entry]:
    """``VideoDataset`` entries of a Diving-48 split.

    Args:
        items (Iterable[Dict]): ``Diving48_V2_{train,test}.json``:
            ``{"vid_name": "-mmq0PT-u8k_00155", "label": 0, "start_frame": 0,
            "end_frame": 184}``.
        ext (str): Video file extension. Defaults to ``'.mp4'``.

    Returns:
        List[Entry]: ``(<vid_name>.mp4, label)`` pairs.
    """
    return [(f"{item['vid_name']}{ext}", int(item['label'])) for item in items]


# --------------------------------------------------------------------------
# UCF101
# --------------------------------------------------------------------------
def ucf101_classes(class_ind: str) -> List[str]:
    """Class names from ``classInd.txt`` (``"1 ApplyEyeMakeup"``, 1-based).

    Args:
        class_ind (str): The file's text.

    Returns:
        List[str]: The 101 names; label ``i`` is index ``i + 1`` in the file.
    """
    pairs = [line.split() for line in class_ind.splitlines() if line.strip()]
    classes = [name for _, name in sorted(pairs, key=lambda p: int(p[0]))]
    if [int(i) for i, _ in sorted(pairs, key=lambda p: int(p[0]))] != \
            list(range(1, len(classes) + 1)):
        raise ValueError('classInd.txt indices are not 1..N')
    return classes


def ucf101_entries(split_text: str, classes: Sequence[str]) -> List[Entry]:
    """Entries of ``trainlist0N.txt`` / ``testlist0N.txt``.

    Train lines are ``ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1``; test
    lines have no label. The label always comes from the class folder, which
    both share.

    Args:
        split_text (str): The split file's text.
        classes (Sequence[str]): From :func:`ucf101_classes`.

    Returns:
        List[Entry]: ``(Class/v_Class_gXX_cYY.avi, label)`` pairs.
    """
    index = {name: i for i, name in enumerate(classes)}
    entries = []
    for line in split_text.splitlines():
        if not line.strip():
            continue
        parts = line.split()
        video = parts[0]
        label = index[video.split('/')[0]]
        if len(parts) > 1 and int(parts[1]) - 1 != label:
            raise ValueError(f'{line!r}: label {parts[1]} disagrees with the '
                             f'class folder ({label + 1} in classInd.txt)')
        entries.append((video, label))
    return entries


# --------------------------------------------------------------------------
# HMDB51
# --------------------------------------------------------------------------
_HMDB_SPLIT = re.compile(r'^(?P<cls>.+)_test_split(?P<split>\d)\.txt$')


def hmdb51_split_files(names: Iterable[str], split: int) -> Dict[str, str]:
    """Map class name -> split file name for one of the three splits.

    Args:
        names (Iterable[str]): File names of ``testTrainMulti_7030_splits/``
            (``brush_hair_test_split1.txt`` ...).
        split (int): 1, 2 or 3.

    Returns:
        Dict[str, str]: Sorted by class name.
    """
    found = {}
    for name in names:
        m = _HMDB_SPLIT.match(osp.basename(name))
        if m and int(m.group('split')) == split:
            found[m.group('cls')] = name
    return dict(sorted(found.items()))


def hmdb51_entries(class_name: str, split_text: str, label: int
                   ) -> Tuple[List[Entry], List[Entry]]:
    """Train and test entries of one class from ``<class>_test_splitN.txt``.

    Each line is ``<video>.avi <flag>``: 1 = training, 2 = testing, 0 = not
    used in this split.

    Args:
        class_name (str): The class (its video folder).
        split_text (str): The split file's text.
        label (int): The class label.

    Returns:
        Tuple[List[Entry], List[Entry]]: Train and test entries,
        ``(class/video.avi, label)``.
    """
    train, test = [], []
    for line in split_text.splitlines():
        parts = line.split()
        if not parts:
            continue
        video, flag = parts[0], int(parts[1])
        if flag == 1:
            train.append((f'{class_name}/{video}', label))
        elif flag == 2:
            test.append((f'{class_name}/{video}', label))
        elif flag != 0:
            raise ValueError(f'{line!r}: flag must be 0, 1 or 2')
    return train, test


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------
def _read_json(path: str):
    with open(path) as f:
        return json.load(f)


def _read_text(path: str) -> str:
    with open(path) as f:
        return f.read()


def _finish(out_dir: str, name: str, lists: Dict[str, List[Entry]],
            classes: Sequence[str], video_root: Optional[str],
            val_video_root: Optional[str] = None) -> None:
    for suffix, entries in lists.items():
        root = video_root
        if suffix.startswith('val') and val_video_root is not None:
            root = val_video_root
        if root is not None:
            before = len(entries)
            entries = keep_existing(entries, root)
            print(f'{suffix}: {before - len(entries)} of {before} videos '
                  f'missing under {root}, left out')
        path = osp.join(out_dir, f'{name}_{suffix}_videos.txt')
        print(f'{path}: {write_list(entries, path)} videos')
    path = osp.join(out_dir, f'label_map_{name}.txt')
    write_label_map(classes, path)
    print(f'{path}: {len(classes)} classes')


def build_kinetics(args: argparse.Namespace) -> None:
    """Kinetics-400/600/700 lists from the official CSVs."""
    rows = {'train': read_kinetics_csv(args.train)}
    if args.val:
        rows['val'] = read_kinetics_csv(args.val)
    classes = kinetics_classes(rows['train'])
    lists = {
        f'{split}_list': kinetics_entries(r, classes, args.layout, args.ext)
        for split, r in rows.items()
    }
    _finish(args.out_dir, args.name, lists, classes, args.video_root,
            args.val_video_root)


def build_sthv2(args: argparse.Namespace) -> None:
    """Something-Something v2 lists from the official JSON files."""
    labels = _read_json(args.labels)
    lists = {
        'train_list': sthv2_entries(_read_json(args.train), labels, args.ext)
    }
    if args.val:
        lists['val_list'] = sthv2_entries(_read_json(args.val), labels,
                                          args.ext)
    _finish(args.out_dir, args.name, lists, sthv2_classes(labels),
            args.video_root,
            args.val_video_root)


def build_diving48(args: argparse.Namespace) -> None:
    """Diving-48 (V2 labels) lists from the official JSON files."""
    vocab = _read_json(args.vocab) if args.vocab else None
    lists = {'train_list': diving48_entries(_read_json(args.train), args.ext)}
    if args.val:
        lists['val_list'] = diving48_entries(_read_json(args.val), args.ext)
    _finish(args.out_dir, args.name, lists, diving48_classes(vocab),
            args.video_root,
            args.val_video_root)


def build_ucf101(args: argparse.Namespace) -> None:
    """UCF101 lists of the three official splits."""
    classes = ucf101_classes(
        _read_text(osp.join(args.ann_dir, 'classInd.txt')))
    lists = {}
    for split in args.splits:
        for kind, prefix in (('train', 'trainlist'), ('val', 'testlist')):
            text = _read_text(osp.join(args.ann_dir, f'{prefix}0{split}.txt'))
            lists[f'{kind}_split_{split}'] = ucf101_entries(text, classes)
    _finish(args.out_dir, args.name, lists, classes, args.video_root,
            args.val_video_root)


def build_hmdb51(args: argparse.Namespace) -> None:
    """HMDB51 lists of the three official splits."""
    names = os.listdir(args.ann_dir)
    lists, classes = {}, None
    for split in args.splits:
        files = hmdb51_split_files(names, split)
        if classes is None:
            classes = list(files)
        elif list(files) != classes:
            raise ValueError(f'Split {split} has other classes than split '
                             f'{args.splits[0]}')
        train, test = [], []
        for label, (cls, fname) in enumerate(files.items()):
            tr, te = hmdb51_entries(
                cls, _read_text(osp.join(args.ann_dir, fname)), label)
            train += tr
            test += te
        lists[f'train_split_{split}'] = train
        lists[f'val_split_{split}'] = test
    _finish(args.out_dir, args.name, lists, classes or [], args.video_root,
            args.val_video_root)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments (one sub-command per dataset)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='dataset', required=True)

    def add(name, func, default_name, ext=None):
        p = sub.add_parser(name)
        p.set_defaults(func=func)
        p.add_argument('--out-dir', required=True,
                       help='where the lists and the label map go')
        p.add_argument('--name', default=default_name,
                       help=f'list file prefix (default {default_name})')
        p.add_argument('--video-root', default=None,
                       help='if given, leave out videos missing under it')
        p.add_argument('--val-video-root', default=None,
                       help='the same for the val lists, when their videos '
                       'are in another folder (Kinetics: videos_val)')
        if ext is not None:
            p.add_argument('--ext', default=ext,
                           help=f'video file extension (default {ext})')
        return p

    p = add('kinetics', build_kinetics, 'kinetics400', '.mp4')
    p.add_argument('--train', required=True, help='train.csv')
    p.add_argument('--val', help='validate.csv')
    p.add_argument('--layout', choices=['class', 'flat'], default='class',
                   help='videos in class folders (MMAction2) or one folder')
    p = add('sthv2', build_sthv2, 'sthv2', '.webm')
    p.add_argument('--labels', required=True,
                   help='something-something-v2-labels.json')
    p.add_argument('--train', required=True,
                   help='something-something-v2-train.json')
    p.add_argument('--val', help='something-something-v2-validation.json')
    p = add('diving48', build_diving48, 'diving48', '.mp4')
    p.add_argument('--train', required=True, help='Diving48_V2_train.json')
    p.add_argument('--val', help='Diving48_V2_test.json')
    p.add_argument('--vocab', help='Diving48_vocab.json (class names)')
    for name, func in (('ucf101', build_ucf101), ('hmdb51', build_hmdb51)):
        p = add(name, func, name)
        p.add_argument('--ann-dir', required=True,
                       help='folder of the official split files')
        p.add_argument('--splits', type=int, nargs='+', default=[1, 2, 3],
                       choices=[1, 2, 3])
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    args.func(args)


if __name__ == '__main__':
    main()
