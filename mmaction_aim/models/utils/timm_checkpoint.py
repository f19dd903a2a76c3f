"""Reading a timm image model's weights from the files they come in."""
import os.path as osp
from typing import Callable, Dict

import timm
import torch
from timm.models import load_state_dict as timm_load_state_dict
from torch import nn

from .clip_checkpoint import (is_torchscript_archive,
                              load_torchscript_state_dict)


def read_timm_file(path: str, model_name: str, timm_kwargs: dict,
                   filter_fn: Callable, filter_model: nn.Module
                   ) -> Dict[str, torch.Tensor]:
    """A timm model's state dict from any released file of it, as
    ``timm.create_model(pretrained=True)`` reads it, without loading it.

    timm's reader (``.safetensors``; torch files with ``weights_only=True``,
    unwrapping ``state_dict`` / ``model`` / EMA, stripping ``module.``), then
    the model's own checkpoint filter (other releases' layouts, resized
    positions, patch embeddings and relative-position tables); a Google
    ``.npz`` through timm's ``load_pretrained`` of a plain copy of the model;
    an OpenAI TorchScript CLIP archive through our restricted reader
    (nothing in it runs). The model's classifier is not used and is dropped.

    Args:
        path (str): The file.
        model_name (str): The timm name (for ``.npz`` files).
        timm_kwargs (dict): Its ``timm.create_model`` arguments.
        filter_fn (callable): ``checkpoint_filter_fn(state_dict, model)``.
        filter_model (nn.Module): The plain timm model of the same shapes
            the filter reads sizes from (on any device, 'meta' included).

    Returns:
        dict: The state dict under timm's names.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Image-model weights {path} not found. Place the timm file '
            '(e.g. from the Hugging Face hub, timm/<model name>) there, or '
            'set model.backbone.pretrained.')
    if path.endswith('.npz'):
        plain = timm.create_model(model_name, pretrained=False,
                                  num_classes=0, **timm_kwargs)
        plain.load_pretrained(path)
        return plain.state_dict()
    if is_torchscript_archive(path):
        state_dict = load_torchscript_state_dict(path)
    else:
        state_dict = timm_load_state_dict(path)
    state_dict = filter_fn(state_dict, filter_model)
    classifier = (getattr(filter_model, 'pretrained_cfg', None)
                  or {}).get('classifier') or 'head'
    for name in (classifier, ) if isinstance(classifier, str) else classifier:
        state_dict.pop(f'{name}.weight', None)
        state_dict.pop(f'{name}.bias', None)
    return state_dict
