from .aim_head import AIMHead
from .text_head import AIMTextHead

__all__ = ['AIMHead', 'AIMTextHead']
