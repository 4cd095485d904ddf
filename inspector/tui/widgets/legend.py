"""The colour scale in use: loss buckets in nats, or rank buckets as GLTR draws them."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from inspector.tui.widgets.styles import LOSS_STYLES, RANK_STYLES, loss_labels, rank_labels


class Legend(Static):
    DEFAULT_CSS = """
    Legend { height: 1; padding: 0 1; }
    """

    mode = "loss"

    def show(self, mode: str) -> None:
        """The scale of `mode`; at widths where the full form does not fit, a compact one
        (every bucket is always shown: a legend missing a colour misleads)."""
        self.mode = mode
        if mode == "loss":
            title, labels, styles = "loss (nats) ", loss_labels(), LOSS_STYLES
        else:
            title, labels, styles = "rank ", rank_labels(), RANK_STYLES
        full = Text(title, style="dim")
        compact = Text(title.split(" ")[0] + " ", style="dim")
        for label, style in zip(labels, styles, strict=True):
            full.append(f" {label} ", style=style)
            compact.append(f"{label.replace('0.', '.')} ", style=style)
        full.append("  c: switch", style="dim")
        width = self.size.width - 2 if self.size.width else 200  # inside the padding
        self.update(full if full.cell_len <= width else compact, layout=False)

    def on_resize(self) -> None:
        self.show(self.mode)
