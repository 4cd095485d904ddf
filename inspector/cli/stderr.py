"""What the library says while it works (a damaged cache file rebuilt, a model converted, a
kernel that fell back), on stderr as `inspector: ...` lines. The library only logs to the
`inspector` logger; front ends decide where it goes (the app shows notifications)."""

from __future__ import annotations

import logging
import sys


class StderrLines(logging.Handler):
    """One `inspector: message` line per record, on the stderr of the moment (so a test's
    captured stderr, or a redirected one, gets it)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"inspector: {record.getMessage()}", file=sys.stderr)


def show_library_messages() -> None:
    """Send the `inspector` logger's notices (info and up) to stderr, once."""
    logger = logging.getLogger("inspector")
    if not any(isinstance(h, StderrLines) for h in logger.handlers):
        logger.addHandler(StderrLines())
    logger.setLevel(logging.INFO)
