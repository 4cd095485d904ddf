"""One line: corpus, document n of N, position, model, device, the active filters, progress."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from inspector import visible


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def show(self, parts: list[tuple[str, str]]) -> None:
        """`parts` are (label, value) pairs, shown as `label value` separated by dots."""
        text = Text()
        for i, (label, value) in enumerate(parts):
            if i:
                text.append(" · ", style="dim")
            if label:
                text.append(label + " ", style="dim")
            text.append(visible.line(value))
        self.update(text, layout=False)
