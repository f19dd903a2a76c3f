"""MMAction2 video lists (``path label`` a line), read with line numbers.

:func:`read_video_list` is the one parser of the package's list files (the
dataset, ``tools/check_dataset.py``, the checks before a run), so that
every problem names the list file and the line: a line without a label, a
label that is not an integer, a label outside ``[0, num_classes)``.
"""
import hashlib
from typing import List, NamedTuple, Optional, Sequence, Union

from ..utils.errors import BadInputError


class VideoListError(BadInputError):
    """A video list has lines a model cannot use (names file and lines)."""


class ListEntry(NamedTuple):
    """One line of a video list."""

    line: int                      # 1-based line number in the file
    filename: str                  # as written (before any prefix)
    label: Union[int, List[int], None]


def read_video_list(ann_file: str, delimiter: str = ' ',
                    multi_class: bool = False,
                    labelled: bool = True) -> List[ListEntry]:
    """Every non-empty line of ``ann_file``.

    Args:
        ann_file (str): The list file.
        delimiter (str): Column separator. Defaults to ``' '``.
        multi_class (bool): Lines carry several labels. Defaults to False.
        labelled (bool): Every line must carry a label (training and
            testing); False accepts bare paths (label None). Defaults to
            True.

    Returns:
        list[ListEntry]: In file order.

    Raises:
        FileNotFoundError: No such list.
        VideoListError: Naming the file and every malformed line (up to 10).
    """
    if not isinstance(delimiter, str) or not delimiter:
        raise VideoListError(f'{ann_file}: the column delimiter must be a '
                             f'non-empty string, got {delimiter!r}')
    entries, bad = [], []
    try:
        with open(ann_file, encoding='utf-8') as f:
            lines = f.read().split('\n')  # as iterating the file
    except UnicodeDecodeError:
        raise VideoListError(f'{ann_file} is not a text file: a video list '
                             'has one "path label" line a video') from None
    for number, text in enumerate(lines, start=1):
        text = text.strip()
        if not text:
            continue
        columns = text.split(delimiter)
        name, labels = columns[0], columns[1:]
        if not labels:
            if labelled:
                bad.append(f'line {number}: no label ({text!r})')
            entries.append(ListEntry(number, name, None))
            continue
        if len(labels) > 1 and not multi_class:
            bad.append(f'line {number}: {len(columns)} columns where '
                       f'two are expected ({text!r}; a path with the '
                       f'delimiter {delimiter!r} in it?)')
            continue
        try:
            values = [int(label) for label in labels]
        except ValueError:
            bad.append(f'line {number}: label {" ".join(labels)!r} is '
                       'not an integer')
            continue
        entries.append(ListEntry(number, name,
                                 values if multi_class else values[0]))
    if bad:
        raise VideoListError(_report(ann_file, bad))
    return entries


def label_problems(entries: Sequence[ListEntry],
                   num_classes: int) -> List[str]:
    """``'line N: ...'`` for every label outside ``[0, num_classes)`` (a
    missing label, -1 included)."""
    problems = []
    for entry in entries:
        labels = entry.label if isinstance(entry.label, list) else [
            entry.label]
        for label in labels:
            if label is None or not 0 <= label < num_classes:
                problems.append(
                    f'line {entry.line}: label {label} is outside 0..'
                    f'{num_classes - 1} ({num_classes} classes) '
                    f'({entry.filename})')
                break
    return problems


def check_labels(entries: Sequence[ListEntry], num_classes: int,
                 ann_file: str) -> None:
    """Raise :class:`VideoListError` naming every out-of-range label."""
    problems = label_problems(entries, num_classes)
    if problems:
        raise VideoListError(_report(ann_file, problems))


def _report(ann_file: str, problems: Sequence[str],
            limit: Optional[int] = 10) -> str:
    lines = [f'{ann_file}: {len(problems)} bad lines:']
    lines += [f'  {p}' for p in problems[:limit]]
    if limit and len(problems) > limit:
        lines.append(f'  ... and {len(problems) - limit} more')
    return '\n'.join(lines)


def list_fingerprint(entries: Sequence[ListEntry]) -> str:
    """The first 16 hex digits of the SHA-256 of a list's lines as read
    (file and label(s), in order; spacing and empty lines ignored), so that
    two people can tell whether they evaluated the same list."""
    digest = hashlib.sha256()
    for entry in entries:
        label = entry.label if isinstance(entry.label, list) else [
            entry.label]
        digest.update(' '.join([entry.filename, *map(str, label)]).encode()
                      + b'\n')
    return digest.hexdigest()[:16]
