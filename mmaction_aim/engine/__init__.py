"""Runtime parts: safe checkpoint loading, exactly resumable training."""
from .checkpoint import (SAFE_CHECKPOINT_GLOBALS, CheckpointMismatchError,
                         UnsafeCheckpointError, check_checkpoint_matches,
                         find_mismatches, install_safe_loaders, safe_load)

__all__ = [
    'SAFE_CHECKPOINT_GLOBALS', 'CheckpointMismatchError',
    'UnsafeCheckpointError', 'check_checkpoint_matches', 'find_mismatches',
    'install_safe_loaders', 'safe_load'
]
from .loops import AIMEpochBasedTrainLoop, AIMIterBasedTrainLoop  # noqa

__all__ += ['AIMEpochBasedTrainLoop', 'AIMIterBasedTrainLoop']
