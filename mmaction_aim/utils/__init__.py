from .cli import (CfgOptionsAction, add_cfg_options, at_least,
                  available_device, main_with_clear_errors, read_config,
                  writable_file)
from .errors import BadInputError
from .label_map import read_label_map
from .video import write_video

__all__ = ['BadInputError', 'CfgOptionsAction', 'add_cfg_options',
           'at_least', 'available_device', 'main_with_clear_errors',
           'read_config', 'read_label_map', 'writable_file',
           'write_video']
