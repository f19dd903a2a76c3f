from .adapter import Adapter
from .aim_block import AIMBlock
from .clip_layers import CLIPAttention, CLIPMLP, QuickGELU

__all__ = ['Adapter', 'AIMBlock', 'CLIPAttention', 'CLIPMLP', 'QuickGELU']
