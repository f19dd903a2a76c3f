from .adapted_block import RECOMPUTABLE, AdaptedBlock, BlockParts
from .adapter import Adapter
from .drop_path import BranchDropPath
from .clip_layers import (CLIPMLP, CLIPAttention, CLIPVisionTransformer,
                          QuickGELU, ResidualAttentionBlock)

__all__ = [
    'AdaptedBlock', 'Adapter', 'BlockParts', 'BranchDropPath',
    'CLIPAttention', 'CLIPMLP', 'CLIPVisionTransformer', 'QuickGELU',
    'RECOMPUTABLE', 'ResidualAttentionBlock'
]
