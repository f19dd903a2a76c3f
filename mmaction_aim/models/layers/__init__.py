from .adapted_block import RECOMPUTABLE, AdaptedBlock
from .adapter import Adapter
from .drop_path import BranchDropPath
from .clip_layers import (CLIPMLP, CLIPAttention, CLIPVisionTransformer,
                          QuickGELU, ResidualAttentionBlock)

__all__ = [
    'AdaptedBlock', 'Adapter', 'BranchDropPath', 'CLIPAttention', 'CLIPMLP',
    'CLIPVisionTransformer', 'QuickGELU', 'RECOMPUTABLE',
    'ResidualAttentionBlock'
]
