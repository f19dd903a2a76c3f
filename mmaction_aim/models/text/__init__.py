"""Text towers of image-text models, used once to start a classifier from
class names (:class:`~..heads.AIMTextHead`).

One concept a file: what an open_clip model config says about its text side
(:mod:`.towers`), the text side of a weights file (:mod:`.weights`), its
tokenizer (:mod:`.tokenizers`), prompts (:mod:`.templates`), label maps
(:mod:`.class_names`), class embeddings (:mod:`.encode`), and which image
models go with which text tower (:mod:`.pairing`).
"""
from .class_names import LabelMapError, read_class_names
from .encode import class_embeddings
from .pairing import TextTowerMismatchError, check_pairing
from .templates import KINETICS_TEMPLATES, prompts, readable_class_name
from .tokenizers import (Tokenizer, TokenizerUnavailableError,
                         build_tokenizer, describe_tokenizer)
from .towers import (NoTextTowerError, Projection, TextTowerSpec,
                     build_text_tower, text_tower_spec)
from .weights import (ImageTextWeights, NoTextInFileError, load_text_tower,
                      read_image_text_file, split_image_text)

__all__ = [
    'ImageTextWeights', 'KINETICS_TEMPLATES', 'LabelMapError',
    'NoTextInFileError', 'NoTextTowerError', 'Projection', 'TextTowerSpec',
    'TextTowerMismatchError', 'Tokenizer', 'TokenizerUnavailableError',
    'build_text_tower', 'build_tokenizer', 'check_pairing',
    'class_embeddings', 'describe_tokenizer', 'load_text_tower', 'prompts',
    'read_class_names', 'read_image_text_file', 'readable_class_name',
    'split_image_text', 'text_tower_spec'
]
