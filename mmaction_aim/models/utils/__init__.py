from .clip_checkpoint import (load_clip_visual_state_dict,
                              load_state_dict_file,
                              load_torchscript_state_dict)
from .convert import (clip_to_aim, convert_official_aim,
                      inflate_patch_embedding, official_aim_layout,
                      resize_positional_embedding, resize_temporal_embedding)
from .memory import saved_activation_bytes
from .params import count_parameters, trainable_summary

__all__ = [
    'clip_to_aim', 'convert_official_aim', 'count_parameters',
    'inflate_patch_embedding',
    'load_clip_visual_state_dict', 'load_state_dict_file',
    'load_torchscript_state_dict', 'official_aim_layout',
    'resize_positional_embedding',
    'resize_temporal_embedding', 'saved_activation_bytes', 'trainable_summary'
]
