"""The library's notices (the `inspector` logger: a damaged cache file rebuilt, a model
converted, a kernel that fell back) as the app's notifications, from any thread."""

from __future__ import annotations

import logging
from typing import Any


class Notices(logging.Handler):
    def __init__(self, app: Any) -> None:
        super().__init__(logging.INFO)
        self.app = app

    def emit(self, record: logging.LogRecord) -> None:
        severity = "warning" if record.levelno >= logging.WARNING else "information"
        text = record.getMessage()
        try:  # a worker thread: the notification is made on the app's thread
            self.app.call_from_thread(
                self.app.notify, text, severity=severity, timeout=10, markup=False
            )
        except RuntimeError:  # already on the app's thread
            self.app.notify(text, severity=severity, timeout=10, markup=False)


def attach(app: Any) -> Notices:
    """Show the `inspector` logger's notices in `app` until `detach`."""
    handler = Notices(app)
    logger = logging.getLogger("inspector")
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    return handler


def detach(handler: Notices) -> None:
    logging.getLogger("inspector").removeHandler(handler)
