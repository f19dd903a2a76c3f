"""What the command-line tools do with bad input: one line, not a traceback.

A video or checkpoint that is missing, empty, truncated, not what it claims
to be, or that does not fit the model is the user's input, not a bug: the
tools print one ``error:`` line naming the file and what is wrong with it,
and exit with status 1. Anything else keeps its traceback.
"""
import sys
from typing import Callable, Optional, Sequence, Tuple, Type


def input_errors() -> Tuple[Type[BaseException], ...]:
    """The exception types that mean "bad input file"."""
    from ..checkpoint import (CheckpointMismatchError, CheckpointReadError,
                              ImageModelMismatchError, UnsafeCheckpointError)
    from ..datasets import BadVideoError, VideoListError
    from ..engine.preflight import ConfigMismatchError
    from ..models.families import UnsupportedImageModelError
    return (FileNotFoundError, IsADirectoryError, CheckpointReadError,
            UnsafeCheckpointError, CheckpointMismatchError, BadVideoError,
            ImageModelMismatchError, UnsupportedImageModelError,
            VideoListError, ConfigMismatchError, BadInputError)


class BadInputError(ValueError):
    """A tool's input (a video, a label map, ...) cannot be used."""


def main_with_clear_errors(main: Callable[[Optional[Sequence[str]]], object],
                           argv: Optional[Sequence[str]] = None) -> object:
    """Run a tool's ``main``; bad input ends it with one line and status 1.

    Args:
        main (callable): The tool's ``main(argv)``.
        argv (Sequence[str], optional): Its arguments (default: the
            command line).

    Returns:
        Whatever ``main`` returns.
    """
    try:
        return main(argv)
    except input_errors() as exc:
        message = str(exc)
        if isinstance(exc, (FileNotFoundError, IsADirectoryError)) and \
                exc.filename is not None and exc.strerror:
            message = f'{exc.filename}: {exc.strerror}'
        print(f'error: {message}', file=sys.stderr, flush=True)
        sys.exit(1)
