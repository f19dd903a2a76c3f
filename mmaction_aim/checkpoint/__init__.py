"""Reading and fitting weights: the one loading pipeline of the package.

Every load composes the same small steps, in this order: read the file
safely (:func:`read_checkpoint`: nothing in it runs), take the state dict
out (:func:`unwrap`), strip DDP's ``module.`` once (:func:`strip_prefix`),
convert and resize for the model (the image-model family's ``convert``;
the recognizer's ``adapt_state_dict``), check the fit
(:func:`check_fits`), load strictly. Both ``models`` and ``engine`` use
this package; it imports neither.
"""
from .allow_list import (SAFE_CHECKPOINT_GLOBALS, allow_checkpoint_globals,
                         allow_list_in_effect, allowed_globals)
from .errors import (CheckpointMismatchError, CheckpointReadError,
                     ImageModelMismatchError, UnsafeCheckpointError)
from .fit import check_fits, find_mismatches
from .read import file_kind, read_checkpoint
from .steps import (StateDict, add_prefix, meta_of, select_prefix,
                    strip_prefix, to_float32, unwrap)

__all__ = [
    'SAFE_CHECKPOINT_GLOBALS', 'CheckpointMismatchError',
    'CheckpointReadError', 'ImageModelMismatchError', 'StateDict',
    'UnsafeCheckpointError', 'add_prefix', 'allow_checkpoint_globals',
    'allow_list_in_effect', 'allowed_globals', 'check_fits', 'file_kind',
    'find_mismatches', 'meta_of', 'read_checkpoint', 'select_prefix',
    'strip_prefix', 'to_float32', 'unwrap'
]
