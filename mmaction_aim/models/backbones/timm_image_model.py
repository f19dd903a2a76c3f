"""What the timm-based AIM backbones share: building, naming and
normalising the timm image model."""
from typing import Dict, List, Optional, Tuple

import timm
from timm.models import get_pretrained_cfg
from torch import nn

from .aim_base import AIMBackbone

#: timm arguments the AIM backbones set themselves, and why.
OWN_TIMM_KWARGS = {
    'pretrained': 'give the file as the backbone\'s pretrained=...',
    'num_classes': "the image model's classifier is not used (num_classes=0)",
    'drop_path_rate': "use AIM's drop_path_rate (temporal and joint "
                      'branches, as the original)',
}


class TimmImageModelBackbone(AIMBackbone):
    """An AIM backbone around a timm model held as ``image_model`` (timm's
    modules and names under that prefix).

    Args:
        model_name (str): The timm name.
        timm_kwargs (dict, optional): ``timm.create_model`` arguments.
        **kwargs: :class:`~.aim_base.AIMBackbone`'s arguments.
    """

    def __init__(self, model_name: str, timm_kwargs: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        timm_kwargs = dict(timm_kwargs or {})
        for key, why in OWN_TIMM_KWARGS.items():
            if key in timm_kwargs:
                raise ValueError(f'timm_kwargs may not set {key!r}: {why}')
        self.model_name = model_name
        self.timm_kwargs = timm_kwargs

    def create_image_model(self) -> nn.Module:
        """``timm.create_model`` without weights or classifier."""
        return timm.create_model(self.model_name, pretrained=False,
                                 num_classes=0, **self.timm_kwargs)

    def image_model_modules(self) -> Dict[str, nn.Module]:
        return {'image_model.': self.image_model}

    @property
    def input_resolution(self) -> int:
        """The frame size the image model is built for."""
        return int(self.image_model.patch_embed.img_size[0])

    def describe(self) -> str:
        return f'timm {self.model_name}'

    @staticmethod
    def image_model_normalization(
            cfg: dict) -> Tuple[List[float], List[float]]:
        """Mean and std of the model's pretrained config, 0-255 scale.

        Args:
            cfg (dict): The backbone's config; its ``model_name`` (with
                its pretrained tag, for the tag's own statistics) decides.

        Returns:
            tuple: ``(mean, std)``, each three floats.
        """
        model_name = cfg['model_name']
        pretrained_cfg = get_pretrained_cfg(model_name)
        if pretrained_cfg is None:
            raise KeyError(f'timm has no pretrained config for '
                           f'{model_name!r}: give the mean and std')
        return ([round(255 * m, 4) for m in pretrained_cfg.mean],
                [round(255 * s, 4) for s in pretrained_cfg.std])
