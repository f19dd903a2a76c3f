from .convert import (convert_official_aim, inflate_patch_embedding,
                      official_aim_layout, resize_positional_embedding,
                      resize_temporal_embedding, upgrade_layout)
from .memory import saved_activation_bytes
from .params import count_parameters, trainable_summary

__all__ = [
    'convert_official_aim', 'count_parameters', 'inflate_patch_embedding',
    'official_aim_layout', 'resize_positional_embedding',
    'resize_temporal_embedding', 'saved_activation_bytes',
    'trainable_summary', 'upgrade_layout'
]
