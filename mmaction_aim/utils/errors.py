"""The one base class of every "the user's input cannot be used" error.

A video, a list, a checkpoint, a config or an option that is wrong is the
user's input, not a bug: every error type that means so derives from
:class:`BadInputError`, wherever it is defined (checkpoint, datasets,
models, engine), and the command-line tools print it as one ``error:`` line
(:mod:`.cli`). This module imports nothing of the package, so that every
floor can use it.
"""


class BadInputError(ValueError):
    """A tool's or a run's input (a file, a config, an option) cannot be
    used; the message names it and says why in one sentence."""
