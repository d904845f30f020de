"""Errors that the command line turns into exit status 2 (bad input).

Anything else that escapes is an internal failure (exit status 1).
"""


class InputError(Exception):
    """Bad input from the user: an option, a suite file or a data file.

    The message must name the option or file and say what was wrong.
    """


class DataError(InputError):
    """A data file is missing, truncated or malformed."""


class DataMissingError(DataError):
    """A dataset is not in the data directory at all (as opposed to a bad or partial file)."""


class SuiteError(InputError):
    """A suite file or a command-line override is malformed or names unknown things."""


class DiskFullError(InputError):
    """No space left where tunebench writes; the message names the folder and the space needed."""
