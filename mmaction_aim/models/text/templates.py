"""Prompts from class names: the templates and the names as words.

A class's embedding is the mean of its prompts' normalised text embeddings
(one prompt per template), normalised again: CLIP's prompt ensembling.
"""
import re
from typing import List, Sequence

from ...utils.errors import BadInputError

#: Prompt templates for human actions (Kinetics, UCF101, HMDB51): ours, a
#: short list in the style of CLIP's action-recognition prompts.
KINETICS_TEMPLATES = (
    'a video of a person {}.',
    'a video of a person doing {}.',
    'a photo of a person {}.',
    'a clip of a person {}.',
    'a person {}.',
    'a video of {}.',
    'an example of {}.',
    'a close-up video of a person {}.',
)


def readable_class_name(name: str) -> str:
    """A class name as words: an identifier-like name (no spaces) has its
    underscores and CamelCase split into lower-case words
    (``'ApplyEyeMakeup'`` -> ``'apply eye makeup'``, ``'brush_hair'`` ->
    ``'brush hair'``); a name with spaces is kept (Kinetics' ``'riding or
    walking with horse'``)."""
    name = name.strip()
    if ' ' in name:
        return name
    words = re.sub(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])', ' ',
                   name.replace('_', ' '))
    return ' '.join(words.split()).lower()


def check_templates(templates: Sequence[str]) -> List[str]:
    """The templates, each with exactly one ``{}``.

    Raises:
        BadInputError: No template, or one without exactly one ``{}``.
    """
    if isinstance(templates, str) or not templates:
        raise BadInputError('templates: give a list of prompt templates, '
                            f'each with one {{}} for the class name (got '
                            f'{templates!r})')
    for template in templates:
        if not isinstance(template, str) or template.count('{}') != 1 or \
                template.replace('{}', '').count('{') or \
                template.replace('{}', '').count('}'):
            raise BadInputError(
                f'prompt template {template!r} must hold the class name as '
                'exactly one {} and no other braces')
    return list(templates)


def prompts(names: Sequence[str], templates: Sequence[str],
            readable: bool = True) -> List[List[str]]:
    """Every class's prompts: ``[class][template]``.

    Args:
        names (Sequence[str]): Class names.
        templates (Sequence[str]): Templates with one ``{}``.
        readable (bool): Write each name as words first
            (:func:`readable_class_name`). Defaults to True.
    """
    templates = check_templates(templates)
    return [[t.format(readable_class_name(n) if readable else n)
             for t in templates] for n in names]
