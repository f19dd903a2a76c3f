from .adapted_block import RECOMPUTABLE, AdaptedBlock
from .adapter import Adapter
from .clip_layers import (CLIPMLP, CLIPAttention, CLIPVisionTransformer,
                          QuickGELU, ResidualAttentionBlock)

__all__ = [
    'AdaptedBlock', 'Adapter', 'CLIPAttention', 'CLIPMLP',
    'CLIPVisionTransformer', 'QuickGELU', 'RECOMPUTABLE',
    'ResidualAttentionBlock'
]
