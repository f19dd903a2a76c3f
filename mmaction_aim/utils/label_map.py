"""Label maps: a dataset's class names, label ``i`` first."""
import json
import os
from typing import List

from .errors import BadInputError


def read_label_map(path: str) -> List[str]:
    """Class names, label ``i`` first.

    Args:
        path (str): A text file with one name a line (line ``i`` names label
            ``i``; ``tools/data/build_video_lists.py`` writes them), or a
            JSON file: a list of names, or an object whose ``classes`` is
            that list (the ``classes.json`` the demo's data writer makes).

    Returns:
        List[str]: The names.

    Raises:
        FileNotFoundError: No such file.
        BadInputError: A directory, a JSON file of another shape, or blank
            lines between the names (which would shift the labels).
    """
    if os.path.isdir(path):
        raise BadInputError(f'{path} is a directory; give the label map file')
    if not os.path.isfile(path):
        raise FileNotFoundError(2, 'label map does not exist', path)
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except UnicodeDecodeError:
        raise BadInputError(f'{path} is not a text file: a label map is '
                            'text, one class name a line, or JSON') from None
    if path.endswith('.json'):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInputError(f'{path} is not valid JSON ({exc})') from None
        names = data.get('classes') if isinstance(data, dict) else data
        if not isinstance(names, list) or not all(
                isinstance(n, str) for n in names):
            raise BadInputError(
                f'{path}: expected a JSON list of class names or an object '
                'with one under "classes"')
        return names
    lines = [line.strip() for line in text.split('\n')]
    while lines and not lines[-1]:
        lines.pop()
    blank = [number for number, line in enumerate(lines, start=1)
             if not line]
    if blank:
        raise BadInputError(
            f'{path}: blank lines {blank[:10]} between class names (line i '
            'names label i - 1, so the names after them would name the '
            'wrong labels); remove them')
    return lines
