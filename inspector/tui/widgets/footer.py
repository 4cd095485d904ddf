"""Textual's footer, showing the keys of the mode the app is in.

In annotation mode a narrow terminal has room for the label keys (with the labels' names),
accept, skip and undo; the browsing keys still work there but leave the footer to them.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer


class ModeFooter(Footer):
    def compose(self) -> ComposeResult:
        shows = getattr(self.app, "footer_shows", lambda action: True)
        keys = [k for k in super().compose() if shows(getattr(k, "action", ""))]
        if keys:
            self.styles.grid_size_columns = len(keys)
        yield from keys
