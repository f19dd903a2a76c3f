"""Several AIM models on one copy of their frozen image model."""
from .shared import MultiTaskAIM, share_image_model

__all__ = ['MultiTaskAIM', 'share_image_model']
