"""The colour scale in use: loss buckets in nats, or rank buckets as GLTR draws them."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from inspector.session.compare import DELTA_LABELS
from inspector.tui.widgets.styles import (
    DELTA_STYLES,
    LOSS_STYLES,
    RANK_STYLES,
    loss_labels,
    rank_labels,
)


class Legend(Static):
    DEFAULT_CSS = """
    Legend { height: 1; padding: 0 1; }
    """

    mode = "loss"
    change = "later - first"  # what a change is, in compare mode: the runs' names

    def show(self, mode: str, change: str | None = None) -> None:
        """The scale of `mode`; at widths where the full form does not fit, a compact one
        (every bucket is always shown: a legend missing a colour misleads)."""
        self.mode = mode
        self.change = change or self.change
        if mode == "loss":
            title, labels, styles = "loss (nats) ", loss_labels(), LOSS_STYLES
        elif mode == "change":
            title, labels, styles = (
                f"change ({self.change}, nats) ",
                list(DELTA_LABELS),
                DELTA_STYLES,
            )
        else:
            title, labels, styles = "rank ", rank_labels(), RANK_STYLES
        full = Text(title, style="dim")
        compact = Text(title.split(" ")[0] + " ", style="dim")
        for label, style in zip(labels, styles, strict=True):
            full.append(f" {label} ", style=style)
            compact.append(f"{label.replace('0.', '.')} ", style=style)
        full.append("  d: back" if mode == "change" else "  c: switch", style="dim")
        width = self.size.width - 2 if self.size.width else 200  # inside the padding
        self.update(full if full.cell_len <= width else compact, layout=False)

    def on_resize(self) -> None:
        self.show(self.mode)
