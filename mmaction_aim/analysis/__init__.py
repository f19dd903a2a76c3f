"""Measuring models: FLOPs and parameters (one convention, :mod:`.flops`),
speed and memory (:mod:`.benchmark`), the one model builder
(:mod:`.builder`) and config shrinker (:mod:`.shrink`) that the analysis
tools and the tests share, and the straightforward AIM block the package's
blocks are measured against (:mod:`.plain_aim`, registered as the
image-model family ``PlainCLIPViT`` by this import)."""
from . import plain_aim  # noqa: F401  (registers PlainCLIPViT)
from .builder import VARIANTS, build_model, load_config
from ..engine.shrink import shrink_config
from .flops import (config_complexity, count_macs, default_input_shape,
                    model_complexity)

__all__ = [
    'VARIANTS', 'build_model', 'load_config', 'shrink_config',
    'config_complexity',
    'count_macs', 'default_input_shape', 'model_complexity'
]
