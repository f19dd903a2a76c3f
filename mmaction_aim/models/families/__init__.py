"""Image-model families: how AIM adapts each kind of image model, one file
and one decorator each (:mod:`.registry`)."""
from .base import (ImageModelFacts, ImageModelFamily, Stage,
                   UnsupportedImageModelError, blocks_of)
from .registry import FAMILIES, build_family, family_of_timm_model
# The families of this package (each registers itself).
from .clip import AIMBlock, CLIPViT  # noqa: E402
from .timm_vit import TimmViT  # noqa: E402
from .timm_eva import TimmEva  # noqa: E402
from .timm_swin import AIMSwinBlock, TimmSwin  # noqa: E402
from .timm_beit import AIMBeitBlock, TimmBeit  # noqa: E402
from .timm_hiera import AIMHieraBlock, TimmHiera  # noqa: E402

__all__ = [
    'AIMBeitBlock', 'AIMBlock', 'AIMHieraBlock', 'AIMSwinBlock', 'CLIPViT',
    'FAMILIES', 'ImageModelFacts', 'ImageModelFamily', 'Stage', 'TimmBeit',
    'TimmEva', 'TimmHiera', 'TimmSwin', 'TimmViT',
    'UnsupportedImageModelError', 'blocks_of', 'build_family',
    'family_of_timm_model'
]
