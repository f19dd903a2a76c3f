from .aim_vit import AIMViT
from .plain_aim_vit import PlainAIMViT

__all__ = ['AIMViT', 'PlainAIMViT']
