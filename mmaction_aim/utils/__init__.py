from .cli import BadInputError, main_with_clear_errors
from .video import write_video

__all__ = ['BadInputError', 'main_with_clear_errors', 'write_video']
