from .adapted_block import RECOMPUTABLE, AdaptedBlock
from .adapter import Adapter
from .aim_block import AIMBlock
from .clip_layers import CLIPAttention, CLIPMLP, QuickGELU
from .plain_aim_block import PlainAIMBlock

__all__ = [
    'AdaptedBlock', 'Adapter', 'AIMBlock', 'CLIPAttention', 'CLIPMLP',
    'PlainAIMBlock', 'QuickGELU', 'RECOMPUTABLE'
]
