"""The tokenizer of an image-text model's text tower.

What works offline:

* CLIP (OpenAI, open_clip's LAION / DataComp / DFN / MetaCLIP models),
  PE-Core, EVA-02-CLIP: open_clip's own byte-pair tokenizer, whose
  vocabulary ships inside the open_clip package: nothing to download.
* SigLIP and SigLIP 2: a Hugging Face tokenizer (SentencePiece vocabularies
  of 32k and 256k pieces) that open_clip loads through the ``transformers``
  package. It needs ``transformers`` installed and the tokenizer's files:
  either a local copy of the Hugging Face repository the model config names
  (``timm/ViT-B-16-SigLIP2``, ...), given as the head's ``tokenizer``, or a
  download (or the Hugging Face cache) at initialisation. Without them the
  head refuses, saying so; no other tokenizer stands in.
"""
import importlib.util
import os
from typing import Callable, Optional, Sequence, Union

import torch

from ...utils.errors import BadInputError
from .towers import TextTowerSpec

#: A tokenizer: texts to token ids ``[N, context_length]``.
Tokenizer = Callable[[Sequence[str]], torch.Tensor]


class TokenizerUnavailableError(BadInputError):
    """The text tower's tokenizer cannot be built here, saying what it
    needs."""


def build_tokenizer(spec: TextTowerSpec,
                    tokenizer: Union[None, str, Tokenizer] = None
                    ) -> Tokenizer:
    """The tokenizer of ``spec``'s text tower.

    Args:
        spec (TextTowerSpec): The text tower.
        tokenizer (None | str | callable): None: the model's own (open_clip's
            CLIP tokenizer, or the Hugging Face tokenizer its config names,
            from the Hugging Face cache or hub); a local directory holding
            that Hugging Face tokenizer's files; or any callable from texts
            to token ids ``[N, context_length]`` (for code).

    Returns:
        Tokenizer: Texts to token ids.

    Raises:
        TokenizerUnavailableError: A Hugging Face tokenizer without the
            ``transformers`` package, or a directory that does not exist.
    """
    if callable(tokenizer):
        return tokenizer
    if tokenizer is not None:
        if not isinstance(tokenizer, str) or not os.path.isdir(tokenizer):
            raise TokenizerUnavailableError(
                f'tokenizer {tokenizer!r} is not a directory: give a local '
                'copy of the Hugging Face tokenizer of open_clip '
                f'{spec.name} ({spec.hf_tokenizer or "none: leave it None"})')
        if spec.hf_tokenizer is None:
            raise TokenizerUnavailableError(
                f'open_clip {spec.name} uses open_clip\'s own tokenizer, '
                f'shipped with open_clip; leave tokenizer None (got '
                f'{tokenizer!r})')
        return _hf_tokenizer(tokenizer, spec)
    if spec.hf_tokenizer is not None:
        return _hf_tokenizer(spec.hf_tokenizer, spec)
    from open_clip.tokenizer import SimpleTokenizer
    return SimpleTokenizer(context_length=spec.context_length,
                           **spec.tokenizer_kwargs)


def _hf_tokenizer(source: str, spec: TextTowerSpec) -> Tokenizer:
    """open_clip's wrapper of a Hugging Face tokenizer, as open_clip's
    ``get_tokenizer`` builds it for ``spec``'s model, read from
    ``source`` (a hub name or a local directory)."""
    if importlib.util.find_spec('transformers') is None:
        raise TokenizerUnavailableError(
            f'open_clip {spec.name}\'s text tower reads the Hugging Face '
            f'tokenizer {spec.hf_tokenizer}, which needs the transformers '
            'package (pip install transformers) and that tokenizer\'s files '
            '(a local copy of the Hugging Face repository '
            f'{spec.hf_tokenizer}, given as the head\'s tokenizer=, or a '
            'download at initialisation)')
    from open_clip.tokenizer import HFTokenizer
    return HFTokenizer(source, context_length=spec.context_length,
                       tokenizer_mode=spec.text_cfg.get('tokenizer_mode'),
                       **spec.tokenizer_kwargs)


def describe_tokenizer(tokenizer: Optional[Union[str, Tokenizer]],
                       spec: TextTowerSpec) -> str:
    """The tokenizer in a few words, for the log."""
    if callable(tokenizer):
        return f'the given {type(tokenizer).__name__}'
    if tokenizer is not None:
        return f'the Hugging Face tokenizer in {tokenizer}'
    if spec.hf_tokenizer is not None:
        return f'the Hugging Face tokenizer {spec.hf_tokenizer}'
    return 'open_clip\'s CLIP tokenizer'
