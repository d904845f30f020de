"""Where the MLflow tracking of a results directory goes: the store's URI checked and connected
(a local SQLite database in write-ahead mode by default, a file store only when asked for),
and the clear error when MLflow is not installed."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

from tunebench.errors import InputError
from tunebench.files import environment

_INSTALL_HINT = "pip install 'tunebench[tracking]' (or pip install mlflow)"


def check_mlflow() -> None:
    try:
        import mlflow  # noqa: F401
        import mlflow.tracking  # noqa: F401  (mlflow-skinny has it too)
    except ImportError as exc:
        raise InputError(f"MLflow logging needs mlflow, which is not installed ({exc}): {_INSTALL_HINT}") from None


def is_file_store(uri: str) -> bool:
    scheme = urlparse(uri).scheme
    return scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt")


@contextlib.contextmanager
def file_store_allowed(uri: str) -> Iterator[None]:
    """MLflow >= 3.7 refuses file stores unless ``MLFLOW_ALLOW_FILE_STORE`` is set: a URI that
    names one asks for one, so allow it for this call only."""
    if is_file_store(uri) and "MLFLOW_ALLOW_FILE_STORE" not in os.environ:
        with environment(MLFLOW_ALLOW_FILE_STORE="true"):
            yield
    else:
        yield


def connect(uri: str):
    """A client for ``uri``, after one cheap request that proves the store answers."""
    from mlflow.tracking import MlflowClient

    scheme = urlparse(uri).scheme
    if scheme == "sqlite":
        db_path = sqlite_path(uri)
        if db_path is not None and not db_path.parent.is_dir():
            raise InputError(f"MLflow tracking URI {uri!r}: directory {db_path.parent} does not exist")
        if db_path is not None and not db_path.exists():
            create_wal_database(db_path)
    # Fail fast on an unreachable server instead of MLflow's minutes of retries.
    with environment(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="15"):
        try:
            client = MlflowClient(tracking_uri=uri)
            client.search_experiments(max_results=1)
        except Exception as exc:  # MlflowException, requests' and SQLAlchemy's errors, OSError
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"cannot use MLflow tracking URI {uri!r}: {message[:500]}") from None
    return client


def create_wal_database(path: Path) -> None:
    """Create an empty SQLite database in write-ahead-log mode (a property of the file).

    MLflow commits every create, log and update call; in WAL mode a commit syncs one file
    instead of a rollback journal and the database, which halves the time to log a suite.
    Only databases created here are switched; an existing one keeps its mode.
    """
    import sqlite3

    try:
        connection = sqlite3.connect(path)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise InputError(f"cannot create the SQLite database {path}: {exc}") from None


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///relative`` or ``sqlite:////absolute`` URI;
    ``None`` for an in-memory database."""
    path = uri[len("sqlite://"):].split("?", 1)[0]
    path = path[1:] if path.startswith("/") else path  # sqlite:///x -> "x", sqlite:////x -> "/x"
    if path in ("", ":memory:"):
        return None
    return Path(path).absolute()


# --------------------------------------------------------------------------- logging


__all__ = ["check_mlflow", "connect", "create_wal_database", "file_store_allowed", "is_file_store", "sqlite_path"]
