"""Image-model families AIM adapts through timm: one small file each."""
from torch import nn

from .base import TimmFamily, UnsupportedImageModelError
from .timm_eva import AIMEvaBlock, EvaFamily
from .timm_vit import AIMTimmBlock, VisionTransformerFamily

#: Every family, looked up by the timm model's exact class.
TIMM_FAMILIES = (VisionTransformerFamily(), EvaFamily())


def family_of(model: nn.Module, name: str = 'the model') -> TimmFamily:
    """The family that adapts ``model``, after checking that it can.

    Raises:
        UnsupportedImageModelError: saying why ``model`` cannot be adapted.
    """
    for family in TIMM_FAMILIES:
        if type(model) is family.model_cls:
            try:
                family.check(model)
            except UnsupportedImageModelError as error:
                raise UnsupportedImageModelError(
                    f'AIM cannot adapt timm model {name}: {error}') from None
            return family
    supported = ', '.join(f.model_cls.__name__ for f in TIMM_FAMILIES)
    raise UnsupportedImageModelError(
        f'AIM cannot adapt timm model {name}: it is a '
        f'{type(model).__name__}, and AIM adapts timm models of the classes '
        f'{supported} (a new class needs a family in '
        'mmaction_aim/models/families/)')


__all__ = [
    'AIMEvaBlock', 'AIMTimmBlock', 'EvaFamily', 'TIMM_FAMILIES', 'TimmFamily',
    'UnsupportedImageModelError', 'VisionTransformerFamily', 'family_of'
]
