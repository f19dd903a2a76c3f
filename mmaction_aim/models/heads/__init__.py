from .aim_head import AIMHead

__all__ = ['AIMHead']
