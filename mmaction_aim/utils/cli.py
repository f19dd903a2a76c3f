"""What the command-line tools do with bad input: one line, not a traceback.

A video, checkpoint, config or option that is missing, empty, truncated,
not what it claims to be, or that does not fit the model is the user's
input, not a bug: the tools print one ``error:`` line naming the file and
what is wrong with it, and exit with status 1. Every such error derives from
:class:`~.errors.BadInputError` (besides the operating system's file
errors); anything else keeps its traceback.
"""
import argparse
import math
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
        BadInputError: A directory, a file MMEngine does not read as a
            config (by its suffix), or Python that does not parse.
    """
    if os.path.isdir(path):
        raise BadInputError(f'{path} is a directory; give a config file '
                            f'({", ".join(CONFIG_SUFFIXES)})')
    if not os.path.exists(path):
        raise FileNotFoundError(2, 'config file does not exist', path)
    if not path.endswith(CONFIG_SUFFIXES):
        raise BadInputError(f'{path} is not a config file: MMEngine reads '
                            f'{", ".join(CONFIG_SUFFIXES)} files')
    try:
        return Config.fromfile(path)
    except SyntaxError as exc:  # the user's Python, located
        where = exc.filename if exc.filename and exc.filename != '<unknown>' \
            else path
        raise BadInputError(f'{where}, line {exc.lineno}: '
                            f'{exc.msg} (a config is a Python file)') from None


class CfgOptionsAction(DictAction):
    """MMEngine's ``--cfg-options`` parser, with an item that is not
    ``key=value`` refused in one line (argparse's exit status 2), and a
    value in quotes taken as that string (``delimiter="','"``: a comma,
    which MMEngine's parser reads as a list separator)."""

    def __call__(self, parser, namespace, values, option_string=None):
        quoted, rest = {}, []
        for item in values:
            key, _, value = item.partition('=')
            if '=' not in item or not key.strip():
                parser.error(f'{option_string}: {item!r} is not key=value '
                             '(e.g. train_dataloader.batch_size=4)')
            if len(value) >= 2 and value[0] == value[-1] and \
                    value[0] in '\'"':
                quoted[key] = value[1:-1]
            elif value.strip(', ') == '' and value:
                parser.error(f'{option_string}: {item!r}: a comma is a list '
                             'separator here; give a comma as a string in '
                             f'quotes ({key}="\',\'")')
            else:
                rest.append(item)
        try:
            super().__call__(parser, namespace, rest, option_string)
        except (ValueError, SyntaxError, IndexError) as exc:
            parser.error(f'{option_string}: cannot parse {values} ({exc})')
        options = getattr(namespace, self.dest) or {}
        options.update(quoted)
        setattr(namespace, self.dest, options)


def add_cfg_options(parser: argparse.ArgumentParser) -> None:
    """The ``--cfg-options`` argument every tool shares."""
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction, metavar='KEY=V',
        help='override config settings, key=value (lists: key="[a,b]")')


def at_least(kind: Callable, least: float, above: bool = False):
    """An argparse ``type``: a finite ``kind`` (int or float) of at least
    ``least`` (``above``: more than it), or argparse's one-line error.

    Args:
        kind (callable): ``int`` or ``float``.
        least (float): The smallest value allowed.
        above (bool): ``least`` itself is not allowed. Defaults to False.
    """
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value < least or \
                (above and value == least):
            raise argparse.ArgumentTypeError(
                f'{"an integer" if kind is int else "a number"} '
                f'{">" if above else ">="} {least:g} is needed, got {text!r}')
        return value
    parse.__name__ = f'{kind.__name__} {">" if above else ">="} {least:g}'
    return parse


def available_device(text: str) -> str:
    """An argparse ``type``: a device PyTorch knows and this machine has."""
    import torch
    try:
        device = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a device (cpu, cuda, cuda:1, ...)') from None
    if device.type == 'cuda':
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count <= (device.index or 0):
            raise argparse.ArgumentTypeError(
                f'{text}: this machine has {count} CUDA GPU(s); use --device '
                'cpu')
    return text


def writable_file(path: str, kind: str) -> None:
    """Make the directory of the file ``path``, or raise
    :class:`BadInputError` saying why ``path`` cannot be written.

    Args:
        path (str): The file to write.
        kind (str): What it is, for the message (e.g. ``'name.pth'``).
    """
    if os.path.isdir(path):
        raise BadInputError(f'{path} is a directory; give the file to write '
                            f'({kind})')
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    except OSError as exc:  # a file where a directory belongs, ...
        reason = 'a file has that name' if isinstance(
            exc, FileExistsError) else exc.strerror
        raise BadInputError(f'cannot write {path}: cannot make the directory '
                            f'{exc.filename} ({reason})') from None


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
