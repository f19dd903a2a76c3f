"""The embedded demo: synthetic "what moves, and which way in time" videos,
the tiny image models pre-trained on their still frames, and the metric on
time-reversed twin classes.

Imported by the demo configs (``configs/demo/``) through
``custom_imports``, which registers :class:`TwinPairAccuracy` into
MMAction2's metric registry; ``import mmaction_aim`` does not.
"""
from .twin_metric import TwinPairAccuracy, twin_pair_accuracy

__all__ = ['TwinPairAccuracy', 'twin_pair_accuracy']
