"""Where the data lives: the data directory, the files in it, and what to say when they are missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

#: Environment variable naming the data directory when ``--data-dir`` is not given.
ENV_VAR = "TUNEBENCH_DATA"


def resolve_data_dir(cli_value: str | os.PathLike | None) -> Path:
    """Return the data directory to use.

    Parameters
    ----------
    cli_value:
        The ``--data-dir`` value, or None when the option was not given. An empty string
        counts as not given.

    Returns
    -------
    pathlib.Path
        ``cli_value`` if given, else ``$TUNEBENCH_DATA`` if set and not empty, else
        ``Path.cwd() / "datasets" / "data"``; ``~`` is expanded and a relative path is made
        absolute against the current directory. The directory need not exist.
    """
    if cli_value is not None and os.fspath(cli_value) != "":
        chosen = Path(cli_value)
    elif os.environ.get(ENV_VAR):
        chosen = Path(os.environ[ENV_VAR])
    else:
        chosen = Path.cwd() / "datasets" / "data"
    return chosen.expanduser().absolute()


def first_file(candidates: Iterable[Path]) -> Path | None:
    """Return the first candidate that is an existing file, or None.

    Parameters
    ----------
    candidates:
        Paths in order of preference.

    Returns
    -------
    pathlib.Path or None
    """
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def missing_message(dataset: str, data_dir: Path, looked_for: Iterable[str], hint: str) -> str:
    """Compose the message for a dataset that is not in ``data_dir``.

    Parameters
    ----------
    dataset:
        Display name (``"FER2013"``, ``"MNIST"``).
    data_dir:
        The directory searched.
    looked_for:
        The file and folder names looked for, relative to ``data_dir``.
    hint:
        Where to get the data.

    Returns
    -------
    str
    """
    if data_dir.is_dir():
        where = f"{data_dir}"
    elif data_dir.exists():
        where = f"{data_dir} (a file, not a directory)"
    else:
        where = f"{data_dir} (the directory does not exist)"
    return (
        f"{dataset} not found in {where}: looked for {', '.join(looked_for)}. {hint} "
        f"Point --data-dir or ${ENV_VAR} at the directory that holds the files."
    )
