"""One line: corpus, document n of N, position, model, device, the active filters, progress."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from inspector import visible


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    parts: list[tuple[str, str]] = []

    def show(self, parts: list[tuple[str, str]]) -> None:
        """`parts` are (label, value) pairs, shown as `label value` separated by dots; where
        that does not fit, the values alone, then cut at the end (the model comes last)."""
        self.parts = parts
        width = self.size.width - 2 if self.size.width else 10_000  # inside the padding
        for labelled in (True, False):
            text = Text(no_wrap=True, overflow="ellipsis")
            for i, (label, value) in enumerate(parts):
                if i:
                    text.append(" · ", style="dim")
                if label and labelled:
                    text.append(label + " ", style="dim")
                text.append(visible.line(value))
            if text.cell_len <= width:
                break
        text.truncate(max(1, width), overflow="ellipsis")
        self.update(text, layout=False)

    def on_resize(self) -> None:
        self.show(self.parts)
