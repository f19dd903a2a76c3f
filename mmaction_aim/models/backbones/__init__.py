from .aim_base import AIMBackbone, ImageModelMismatchError
from .aim_swin import AIMSwin
from .aim_timm_vit import AIMTimmViT
from .aim_vit import AIMViT
from .plain_aim_vit import PlainAIMViT

__all__ = [
    'AIMBackbone', 'AIMSwin', 'AIMTimmViT', 'AIMViT',
    'ImageModelMismatchError', 'PlainAIMViT'
]
