"""Passwords out of everything tunebench writes or prints.

A storage, tracking or scheduler URL may carry credentials
(``postgresql://alice:secret@host/db``). Every place that writes a command line or a URL to
a file, or prints a message that may quote one, passes it through :func:`redact_text`
first: the manifest's ``command``, the strategies' settings and every error line of the
command-line tool.

The password ends at the last ``@`` before the host, the way SQLAlchemy and
``urllib.parse`` read it, so a password with ``/``, ``:`` or ``?`` in it is hidden whole.
"""

from __future__ import annotations

import re

#: What a redacted password reads as.
MASK = "***"

# scheme://user:password@host... ; the user part has no ':' '/' '@' or whitespace, the
# password runs to the last '@' before the next whitespace or quote.
_CREDENTIALS = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s'\"]*):(?P<password>[^\s'\"]*)@")


def redact_text(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` URL in it replaced by ``***``.

    >>> redact_text("cannot open postgresql://alice:se/cr@t@db.example/tb: timeout")
    'cannot open postgresql://alice:***@db.example/tb: timeout'
    """
    return _CREDENTIALS.sub(lambda match: f"{match['head']}:{MASK}@", text)


def redact_argv(argv: list[str]) -> list[str]:
    """A command line with every URL password replaced by ``***`` (``--opt=URL`` and ``--opt URL`` alike)."""
    return [redact_text(arg) for arg in argv]
