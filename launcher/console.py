"""How the launcher speaks: one prefixed line per message, errors without tracebacks."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit, urlunsplit


class LauncherError(RuntimeError):
    """A problem the user can act on: printed as one line, without a traceback."""


def log(message: str) -> None:
    """Our own messages go to stderr, prefixed, so they stand out among the servers' logs."""
    print(f"[stack] {message}", file=sys.stderr, flush=True)


def redact(url: str) -> str:
    """A URL fit for printing: the password, if any, replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
