"""Image-model families: how AIM adapts each kind of image model, one file
and one decorator each (:mod:`.registry`)."""
from .base import (ImageModelFamily, Stage, UnsupportedImageModelError,
                   blocks_of)
from .registry import FAMILIES, build_family, family_of_timm_model
# The families of this package (each registers itself).
from .clip import AIMBlock, CLIPViT  # noqa: E402
from .timm_vit import AIMTimmBlock, TimmViT  # noqa: E402
from .timm_eva import AIMEvaBlock, TimmEva  # noqa: E402
from .timm_swin import AIMSwinBlock, TimmSwin  # noqa: E402
from .timm_beit import AIMBeitBlock, TimmBeit  # noqa: E402

__all__ = [
    'AIMBeitBlock', 'AIMBlock', 'AIMEvaBlock', 'AIMSwinBlock', 'AIMTimmBlock',
    'CLIPViT',
    'FAMILIES', 'ImageModelFamily', 'Stage', 'TimmBeit', 'TimmEva',
    'TimmSwin',
    'TimmViT', 'UnsupportedImageModelError', 'blocks_of', 'build_family',
    'family_of_timm_model'
]
