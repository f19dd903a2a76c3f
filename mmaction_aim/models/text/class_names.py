"""A dataset's class names, label ``i`` first, for the text head."""
import re
from typing import List, Sequence, Union

from ...utils.errors import BadInputError
from ...utils.label_map import read_label_map


class LabelMapError(BadInputError):
    """A label map that cannot name the model's classes."""


def read_class_names(source: Union[str, Sequence[str]],
                     num_classes: int) -> List[str]:
    """The class names of a label map, checked against the class count.

    Args:
        source (str | Sequence[str]): A label map: a text file with one name
            a line (line ``i`` names label ``i``, as
            ``tools/data/build_video_lists.py`` writes them), a JSON file (a
            list of names, or an object whose ``classes`` is that list), or
            the names themselves.
        num_classes (int): The head's classes.

    Returns:
        list[str]: ``num_classes`` names.

    Raises:
        FileNotFoundError: No such file.
        BadInputError: A directory, a file of another shape
            (:func:`~mmaction_aim.utils.read_label_map`).
        LabelMapError: An empty name, names that all start with a number
            (an index column), or another count of names than
            ``num_classes``.
    """
    if isinstance(source, str):
        names = read_label_map(source)
        where = source
    else:
        names, where = list(source), 'class_names'
    if not all(isinstance(n, str) and n.strip() for n in names):
        raise LabelMapError(f'{where}: every class name must be a non-empty '
                            'string')
    numbered = [n for n in names if re.match(r'^\d+\s+\S', n.strip())]
    if names and len(numbered) == len(names):
        raise LabelMapError(
            f'{where}: every class name starts with a number '
            f'({names[0].strip()!r}, ...), which the prompts would read as '
            'part of the name: a label map names one class a line, its line '
            'giving the label (UCF101\'s classInd.txt: drop the numbers)')
    if len(names) != num_classes:
        raise LabelMapError(
            f'{where} names {len(names)} classes but the head has '
            f'num_classes={num_classes}: give the label map of the dataset '
            'the model classifies')
    return [n.strip() for n in names]
