"""One line: corpus, document n of N, position, model, device, the active filters, progress."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from inspector import visible


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    parts: list[tuple[str, str | tuple[str, ...]]] = []

    def show(self, parts: list[tuple[str, str | tuple[str, ...]]]) -> None:
        """`parts` are (label, value) pairs, shown as `label value` separated by dots; a
        value may be a tuple of ever shorter forms (the model: its name and settings, then
        the settings in short; an empty form leaves the part out). Where the line does not
        fit: the values alone, then each value's shorter forms in turn, then cut at the end
        (the model comes last)."""
        self.parts = parts
        width = self.size.width or 10_000  # the content's width, inside the padding
        forms = [(v,) if isinstance(v, str) else v for _, v in parts]
        levels = max(len(f) for f in forms) if forms else 1
        for labelled, level in [(True, 0), *((False, n) for n in range(levels))]:
            text = Text(no_wrap=True, overflow="ellipsis")
            for (label, _), form in zip(parts, forms, strict=True):
                value = form[min(level, len(form) - 1)]
                if not value:  # a part left out at this level
                    continue
                if text:
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
