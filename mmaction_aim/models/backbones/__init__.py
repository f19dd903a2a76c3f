from .aim_backbone import ADAPTATIONS, AIMBackbone

__all__ = ['ADAPTATIONS', 'AIMBackbone']
