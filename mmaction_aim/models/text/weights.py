"""The text side of an image-text model's weights file.

:func:`read_image_text_file` reads a file through the package's safe reader
(OpenAI's TorchScript release as data, open_clip's ``.bin`` /
``.safetensors``); :func:`split_image_text` takes out, purely, what AIM's
text head needs: the text tower's state dict, the image projection, the
logit scale and bias. Two layouts hold a text tower:

* OpenAI's and open_clip's CLIP: the text tower at the top level
  (``token_embedding.weight``, ``positional_embedding``,
  ``transformer.resblocks.N.*``, ``ln_final.*``, ``text_projection``) beside
  ``visual.*``;
* open_clip's ``CustomTextCLIP`` (SigLIP, SigLIP 2, PE-Core, EVA-02-CLIP):
  the same names under ``text.``.

Either loads into either model (open_clip converts them the same way).
"""
import dataclasses
import os
from typing import Optional

import torch

from ...checkpoint import (CheckpointMismatchError, StateDict,
                           find_mismatches, read_checkpoint, select_prefix,
                           strip_prefix, to_float32, unwrap)
from ...utils.errors import BadInputError
from .towers import TextTowerSpec

#: Tensors of OpenAI's TorchScript release that are no weights.
OPENAI_EXTRAS = ('input_resolution', 'context_length', 'vocab_size')
#: Top-level keys of a CLIP file that are not the text tower's.
NOT_TEXT = OPENAI_EXTRAS + ('logit_scale', 'logit_bias')


@dataclasses.dataclass
class ImageTextWeights:
    """What AIM's text head takes from an image-text model's file.

    Attributes:
        text (StateDict): The text tower's state dict, in the names of
            :func:`~.towers.build_text_tower`'s module.
        proj_weight (torch.Tensor, optional): The image projection as a
            Linear layer's weight ``[embed_dim, width]``; None: no
            projection.
        proj_bias (torch.Tensor, optional): Its bias ``[embed_dim]``.
        logit_scale (torch.Tensor): The logit scale, as stored (its log).
        logit_bias (torch.Tensor, optional): The logit bias (SigLIP).
    """

    text: StateDict
    proj_weight: Optional[torch.Tensor]
    proj_bias: Optional[torch.Tensor]
    logit_scale: torch.Tensor
    logit_bias: Optional[torch.Tensor]


class NoTextInFileError(BadInputError):
    """A weights file without a text tower AIM's text head can read."""


def read_image_text_file(path: str) -> StateDict:
    """A weights file's state dict, read safely (nothing in it runs),
    unwrapped, ``module.`` stripped once (dtypes as stored: OpenAI's release
    is float16; :func:`split_image_text` gives its parts in float32).

    Raises:
        FileNotFoundError: No such file, saying which file it should be.
    """
    if '://' not in path and not os.path.isfile(path):
        raise FileNotFoundError(
            2, 'image-text model weights not found: the head starts its '
            'classifier from this file\'s text tower (OpenAI\'s CLIP release, '
            'or open_clip\'s open_clip_model.safetensors / '
            'open_clip_pytorch_model.bin; docs/few_shot.md)', path)
    return strip_prefix(unwrap(read_checkpoint(path), name=path))


def text_layout(state_dict: StateDict, name: str) -> str:
    """``'clip'`` (the text tower at the top level) or ``'custom'`` (under
    ``text.``).

    Raises:
        NoTextInFileError: The file holds no text tower, saying what it
            holds instead.
    """
    keys = set(state_dict)
    if 'text.token_embedding.weight' in keys:
        return 'custom'
    if 'token_embedding.weight' in keys:
        return 'clip'
    if any(k.startswith(('text_model.', 'vision_model.')) for k in keys):
        raise NoTextInFileError(
            f'{name} is a Hugging Face transformers checkpoint '
            '(text_model.*, vision_model.*); give open_clip\'s file of the '
            'model (open_clip_model.safetensors or '
            'open_clip_pytorch_model.bin) or OpenAI\'s CLIP release')
    text_keys = sorted(k for k in keys if k.startswith('text.'))
    if text_keys:
        raise NoTextInFileError(
            f'{name} holds a text tower that is not open_clip\'s text '
            f'transformer (keys {text_keys[:3]} ...), e.g. a Hugging Face '
            'text encoder')
    raise NoTextInFileError(
        f'{name} holds no text tower (an image model\'s weights only: keys '
        f'{sorted(keys)[:3]} ...); give the whole image-text model\'s file '
        '(OpenAI\'s CLIP release, or open_clip\'s open_clip_model.safetensors'
        ' / open_clip_pytorch_model.bin)')


def split_image_text(state_dict: StateDict, spec: TextTowerSpec,
                     name: str) -> ImageTextWeights:
    """The text head's parts of an image-text model's state dict (pure),
    in float32.

    Args:
        state_dict (StateDict): The whole model's state dict (OpenAI or
            open_clip layout).
        spec (TextTowerSpec): The model's text side.
        name (str): The file, for messages.

    Returns:
        ImageTextWeights: The parts.

    Raises:
        NoTextInFileError: No text tower in the file.
        CheckpointMismatchError: The file lacks the image projection or the
            logit scale (or bias) that ``spec``'s model has.
    """
    layout = text_layout(state_dict, name)
    if layout == 'custom':
        text = select_prefix(state_dict, 'text.')
    else:
        text = {k: v for k, v in state_dict.items()
                if not k.startswith('visual.') and k not in NOT_TEXT}
    # OpenAI's archive keeps each text block's causal mask as an attribute;
    # the tower builds its own.
    text = to_float32({k: v for k, v in text.items()
                       if k != 'attn_mask' and not k.endswith('.attn_mask')})

    def need(key: str, what: str) -> torch.Tensor:
        if key not in state_dict:
            raise CheckpointMismatchError(
                f'{name} has no {key} ({what}) that open_clip {spec.name} '
                'has: is it that model\'s file?')
        return state_dict[key].float()

    weight = bias = None
    if spec.projection is not None:
        weight = need(spec.projection.weight, 'the image projection')
        if spec.projection.transposed:
            weight = weight.t()
        if spec.projection.bias is not None:
            bias = need(spec.projection.bias, 'the image projection\'s bias')
    logit_bias = need('logit_bias', 'the logit bias') if spec.logit_bias \
        else None
    return ImageTextWeights(
        text=text, proj_weight=weight, proj_bias=bias,
        logit_scale=need('logit_scale', 'the logit scale'),
        logit_bias=logit_bias)


def load_text_tower(tower: torch.nn.Module, state_dict: StateDict,
                    spec: TextTowerSpec, name: str) -> None:
    """Load a text tower's state dict strictly: every key of the tower, no
    other, every shape equal.

    Raises:
        CheckpointMismatchError: Naming the differing keys.
    """
    problems = find_mismatches(tower, state_dict)
    if any(problems.values()):
        raise CheckpointMismatchError(
            f'{name}\'s text tower is not open_clip {spec.name}\'s: '
            + '; '.join(f'{what} {sorted(keys)[:5]}' for what, keys in (
                ('missing', problems['missing']),
                ('unexpected', problems['unexpected']),
                ('shapes differ', problems['shape'])) if keys))
    tower.load_state_dict(state_dict, strict=True)
