"""A tab's app under `inspector serve` ends with the server that started it.

`inspector serve` ends each tab's process when its socket closes; but a server killed
outright (SIGKILL, out of memory) cannot, and its tabs would live on, each holding a model,
their stdin never closing. So under textual-serve's web driver the app watches its parent
and exits when it is gone. Labels are committed a key press at a time: none is lost.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

WATCH_S = 1.0  # how often the parent is looked for
EXIT_S = 5.0  # how long the app has to exit cleanly before the process ends anyway


def end_with_server(app: Any) -> None:
    """Under the web driver, exit `app` (then the process) once the server process is gone."""
    if "web_driver" not in os.environ.get("TEXTUAL_DRIVER", ""):
        return
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_S)
        try:
            app.call_from_thread(app.exit)
        except Exception:  # the app may be gone already, or stuck writing to a closed pipe
            pass
        time.sleep(EXIT_S)
        os._exit(0)

    threading.Thread(target=watch, name="end-with-server", daemon=True).start()
