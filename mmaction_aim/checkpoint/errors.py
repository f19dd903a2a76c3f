"""What can be wrong with a weights file, as exception types.

Every one of these is the user's input, not a bug: the command-line tools
print it as one ``error:`` line (:mod:`mmaction_aim.utils.cli`).
"""
import pickle

from ..utils.errors import BadInputError


class CheckpointReadError(BadInputError):
    """A file is not a readable checkpoint (empty, truncated, damaged, of
    another format)."""


class UnsafeCheckpointError(pickle.UnpicklingError, BadInputError):
    """A checkpoint pickles an object outside the allow-list; nothing in it
    was run."""


class CheckpointMismatchError(BadInputError, RuntimeError):
    """A checkpoint does not fit the model (keys or shapes differ)."""


class ImageModelMismatchError(BadInputError, RuntimeError):
    """An image model's weights file does not fit the image model: another
    family, another size, other keys."""
