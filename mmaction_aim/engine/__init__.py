"""Runtime parts: the runner, the checks before a run, resumable loops."""
from .loops import AIMEpochBasedTrainLoop, AIMIterBasedTrainLoop
from .optim_constructor import AIMOptimWrapperConstructor
from .preflight import ConfigMismatchError, PreflightHook
from .runner import AIMRunner
from .zero_shot import (ZeroShotTestHook, ZeroShotValHook,
                        check_zero_shot_model, is_text_head)

__all__ = [
    'AIMEpochBasedTrainLoop', 'AIMIterBasedTrainLoop',
    'AIMOptimWrapperConstructor', 'AIMRunner', 'ConfigMismatchError',
    'PreflightHook', 'ZeroShotTestHook', 'ZeroShotValHook',
    'check_zero_shot_model', 'is_text_head'
]
