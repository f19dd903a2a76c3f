from .cli import (CfgOptionsAction, add_cfg_options, main_with_clear_errors,
                  read_config)
from .errors import BadInputError
from .video import write_video

__all__ = ['BadInputError', 'CfgOptionsAction', 'add_cfg_options',
           'main_with_clear_errors', 'read_config', 'write_video']
