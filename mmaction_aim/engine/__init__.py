"""Runtime parts: safe checkpoint loading, checks, exactly resumable loops."""
from .checkpoint import (SAFE_CHECKPOINT_GLOBALS, CheckpointReadError,
                         UnsafeCheckpointError, allow_checkpoint_globals,
                         install_safe_loaders, preloaded_checkpoint,
                         safe_load, state_dict_of)
from .checkpoint_fit import (CheckpointMismatchError,
                             check_checkpoint_matches, find_mismatches)
from .loops import AIMEpochBasedTrainLoop, AIMIterBasedTrainLoop
from .optim_constructor import AIMOptimWrapperConstructor

__all__ = [
    'SAFE_CHECKPOINT_GLOBALS', 'CheckpointMismatchError',
    'CheckpointReadError', 'UnsafeCheckpointError',
    'allow_checkpoint_globals', 'check_checkpoint_matches',
    'find_mismatches', 'install_safe_loaders', 'preloaded_checkpoint',
    'safe_load', 'state_dict_of', 'AIMEpochBasedTrainLoop',
    'AIMIterBasedTrainLoop', 'AIMOptimWrapperConstructor'
]
