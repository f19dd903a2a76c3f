"""Using a trained AIM model beyond classification: features for
downstream work, export for deployment."""
from .export import (DeployableRecognizer, check_export, export_recognizer,
                     run_export)
from .features import (FeatureExtractor, load_recognizer, window_starts)

__all__ = [
    'DeployableRecognizer', 'FeatureExtractor', 'check_export',
    'export_recognizer', 'load_recognizer', 'run_export', 'window_starts'
]
