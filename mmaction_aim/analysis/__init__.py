"""Measuring models: FLOPs and parameters (one convention, :mod:`.flops`),
speed and memory (:mod:`.benchmark`), and the one model builder
(:mod:`.builder`) that the analysis tools and the tests share."""
from .builder import VARIANTS, build_model, load_config
from .flops import (config_complexity, count_macs, default_input_shape,
                    model_complexity)

__all__ = [
    'VARIANTS', 'build_model', 'load_config', 'config_complexity',
    'count_macs', 'default_input_shape', 'model_complexity'
]
