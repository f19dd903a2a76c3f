from .twin_metric import TwinPairAccuracy

__all__ = ['TwinPairAccuracy']
