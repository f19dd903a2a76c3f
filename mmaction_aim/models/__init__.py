from .backbones import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .recognizers import *  # noqa: F401,F403
from .multitask import MultiTaskAIM, share_image_model  # noqa: F401
