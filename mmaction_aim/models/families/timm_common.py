"""What the families built on timm models share: building the model by
name, its normalisation, and reading timm's files."""
from functools import cached_property
from typing import Dict, List, Optional, Tuple

import timm
from timm.models import get_pretrained_cfg
from torch import nn

from ...checkpoint import StateDict
from ...utils.errors import BadInputError
from .base import ImageModelFamily, UnsupportedImageModelError
from .registry import FAMILIES

#: timm arguments AIM sets itself, and why.
OWN_TIMM_KWARGS = {
    'pretrained': "give the file as the backbone's pretrained=...",
    'num_classes': "the image model's classifier is not used (num_classes=0)",
    'drop_path_rate': "use AIM's drop_path_rate (temporal and joint "
                      'branches, as the original)',
}


class TimmFamily(ImageModelFamily):
    """A family whose image model is a timm model, built by name.

    Args:
        num_frames (int): Frames per clip (given by the backbone).
        model_name (str): The timm name, with or without its pretrained tag
            (``'vit_base_patch16_224.augreg_in21k'``).
        timm_kwargs (dict, optional): ``timm.create_model`` arguments
            (``img_size``, ``depth``, ...). Defaults to None.
    """

    #: The timm model class this family adapts (exactly).
    model_cls: type = nn.Module

    def __init__(self, num_frames: int, model_name: str,
                 timm_kwargs: Optional[dict] = None) -> None:
        super().__init__(num_frames)
        timm_kwargs = dict(timm_kwargs or {})
        for key, why in OWN_TIMM_KWARGS.items():
            if key in timm_kwargs:
                raise BadInputError(
                    f'timm_kwargs (model.backbone.image_model.timm_kwargs) '
                    f'may not set {key!r}: {why}')
        self.model_name = model_name
        self.timm_kwargs = timm_kwargs

    def build(self) -> nn.Module:
        model = timm.create_model(self.model_name, pretrained=False,
                                  num_classes=0, **self.timm_kwargs)
        if type(model) is not self.model_cls:
            fitting = [name for name, family in
                       FAMILIES.module_dict.items()
                       if getattr(family, 'model_cls', None) is type(model)]
            raise UnsupportedImageModelError(
                f'timm {self.model_name} is a {type(model).__name__}; image '
                f'model type {type(self).__name__} adapts '
                f'{self.model_cls.__name__} models'
                + (f': use type={fitting[0]!r}' if fitting else
                   ' (no registered family adapts its class)'))
        return model

    @cached_property
    def normalization(self) -> Tuple[List[float], List[float]]:
        """Mean and std of the model's pretrained config (its tag's own
        statistics), 0-255 scale."""
        cfg = get_pretrained_cfg(self.model_name)
        if cfg is None:
            raise KeyError(f'timm has no pretrained config for '
                           f'{self.model_name!r}: give the mean and std')
        return ([round(255 * m, 4) for m in cfg.mean],
                [round(255 * s, 4) for s in cfg.std])

    @classmethod
    def tiny_config(cls, cfg: dict, width: int, depth: int) -> dict:
        return dict(cfg, timm_kwargs=dict(cfg.get('timm_kwargs') or {},
                                          embed_dim=width, depth=depth,
                                          num_heads=2))

    @classmethod
    def config_for_size(cls, cfg: dict, size: int) -> dict:
        return dict(cfg, timm_kwargs=dict(cfg.get('timm_kwargs') or {},
                                          img_size=size))

    def weights_advice(self) -> str:
        name = self.model_name
        return (f'Download model.safetensors of the Hugging Face hub '
                f'repository timm/{name} and save it there, or set '
                'model.backbone.pretrained (docs/model.md, "Pre-trained '
                'image weights").')

    def describe(self) -> str:
        return f'timm {self.model_name}'

    def identity(self) -> Dict[str, str]:
        return dict(family=type(self).__name__, name=self.model_name)

    @staticmethod
    def drop_classifier(state_dict: StateDict, model: nn.Module
                        ) -> StateDict:
        """Without the pretrained classifier (AIM uses its own head)."""
        classifier = (getattr(model, 'pretrained_cfg', None)
                      or {}).get('classifier') or 'head'
        names = (classifier, ) if isinstance(classifier, str) else classifier
        drop = {f'{n}.{p}' for n in names for p in ('weight', 'bias')}
        return {k: v for k, v in state_dict.items() if k not in drop}
