"""What the command-line tools do with bad input: one line, not a traceback.

A video, checkpoint, config or option that is missing, empty, truncated,
not what it claims to be, or that does not fit the model is the user's
input, not a bug: the tools print one ``error:`` line naming the file and
what is wrong with it, and exit with status 1. Every such error derives from
:class:`~.errors.BadInputError` (besides the operating system's file
errors); anything else keeps its traceback.
"""
import argparse
import os
import sys
from typing import Callable, Optional, Sequence, Tuple, Type

from mmengine.config import Config, DictAction

from .errors import BadInputError

#: Config files MMEngine reads.
CONFIG_SUFFIXES = ('.py', '.json', '.yaml', '.yml')


def input_errors() -> Tuple[Type[BaseException], ...]:
    """The exception types that mean "bad input"."""
    return (FileNotFoundError, IsADirectoryError, NotADirectoryError,
            PermissionError, BadInputError)


def read_config(path: str) -> Config:
    """A config file, read by MMEngine, after the checks a user needs.

    Args:
        path (str): The config's path.

    Returns:
        Config: The config.

    Raises:
        FileNotFoundError: No such file.
        BadInputError: A directory, or a file MMEngine does not read as a
            config (by its suffix).
    """
    if os.path.isdir(path):
        raise BadInputError(f'{path} is a directory; give a config file '
                            f'({", ".join(CONFIG_SUFFIXES)})')
    if not os.path.exists(path):
        raise FileNotFoundError(2, 'config file does not exist', path)
    if not path.endswith(CONFIG_SUFFIXES):
        raise BadInputError(f'{path} is not a config file: MMEngine reads '
                            f'{", ".join(CONFIG_SUFFIXES)} files')
    return Config.fromfile(path)


class CfgOptionsAction(DictAction):
    """MMEngine's ``--cfg-options`` parser, with an item that is not
    ``key=value`` refused in one line (argparse's exit status 2)."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values:
            key = item.partition('=')[0]
            if '=' not in item or not key.strip():
                parser.error(f'{option_string}: {item!r} is not key=value '
                             '(e.g. train_dataloader.batch_size=4)')
        try:
            super().__call__(parser, namespace, values, option_string)
        except (ValueError, SyntaxError, IndexError) as exc:
            parser.error(f'{option_string}: cannot parse {values} ({exc})')


def add_cfg_options(parser: argparse.ArgumentParser) -> None:
    """The ``--cfg-options`` argument every tool shares."""
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction, metavar='KEY=V',
        help='override config settings, key=value (lists: key="[a,b]")')


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
        if isinstance(exc, OSError) and exc.filename is not None and \
                exc.strerror:
            message = f'{exc.filename}: {exc.strerror}'
        print(f'error: {message}', file=sys.stderr, flush=True)
        sys.exit(1)
