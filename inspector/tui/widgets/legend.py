"""The colour scale in use: loss buckets in nats, or rank buckets as GLTR draws them."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from inspector.tui.widgets.styles import LOSS_STYLES, RANK_STYLES, loss_labels, rank_labels


class Legend(Static):
    DEFAULT_CSS = """
    Legend { height: 1; padding: 0 1; }
    """

    def show(self, mode: str) -> None:
        if mode == "loss":
            title, labels, styles = "loss (nats) ", loss_labels(), LOSS_STYLES
        else:
            title, labels, styles = "rank ", rank_labels(), RANK_STYLES
        text = Text(title, style="dim")
        for label, style in zip(labels, styles, strict=True):
            text.append(f" {label} ", style=style)
        text.append("  c: switch", style="dim")
        self.update(text, layout=False)
