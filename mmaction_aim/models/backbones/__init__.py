from .aim_vit import AIMViT

__all__ = ['AIMViT']
