from .video import write_video

__all__ = ['write_video']
