"""Using a trained AIM model beyond classification."""
from .features import (FeatureExtractor, load_recognizer, window_starts)

__all__ = ['FeatureExtractor', 'load_recognizer', 'window_starts']
