"""The colour scale in use: loss buckets in nats, or rank buckets as GLTR draws them."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from inspector.session.compare import DELTA_LABELS
from inspector.tables.buckets import CONTEXT_LABELS, loss_labels, rank_labels
from inspector.tui.widgets.styles import (
    DELTA_STYLES,
    LOSS_STYLES,
    RANK_STYLES,
)


class Legend(Static):
    DEFAULT_CSS = """
    Legend { height: 1; padding: 0 1; }
    """

    mode = "loss"
    change = "last - first"  # what a change is, in compare mode: the runs' labels
    whose = ""  # in compare mode, the run whose loss or rank `c` shows
    unit = "nats"  # in compare mode, what a change is in: "nats per word" across tokenizers

    def show(self, mode: str, change: str | None = None, whose: str | None = None) -> None:
        """The scale of `mode`; at widths where the full form does not fit, a compact one
        (every bucket is always shown: a legend missing a colour misleads)."""
        self.mode = mode
        self.change = change or self.change
        self.whose = self.whose if whose is None else whose
        of = f" of {self.whose}" if self.whose else ""
        if mode == "loss":
            title, labels, styles = f"loss{of} (nats) ", loss_labels(), LOSS_STYLES
        elif mode == "change":
            title = f"change ({self.unit}, {self.change}) "
            labels, styles = list(DELTA_LABELS), DELTA_STYLES
        elif mode == "context":  # attribution to the target, relative to its largest
            title, labels, styles = "context ", list(CONTEXT_LABELS), DELTA_STYLES
        else:
            title, labels, styles = f"rank{of} ", rank_labels(), RANK_STYLES
        per = "per word " if self.unit != "nats" else ""  # across tokenizers: said at any width
        short = f"Δ {per}{self.change} " if mode == "change" else title.split(" ")[0] + " "
        full, compact = Text(title, style="dim"), Text(short, style="dim")
        least = Text(
            f"Δ {per}" if mode == "change" else short, style="dim"
        )  # the panel names the runs
        if mode == "context":  # narrow: the signs alone, what they mean around them
            compact, least = Text("context helps ", style="dim"), Text("helps ", style="dim")
        for label, style in zip(labels, styles, strict=True):
            full.append(f" {label} ", style=style)
            brief = label.split()[-1] if mode == "context" else label.replace("0.", ".")
            compact.append(f" {brief} " if mode == "context" else f"{brief} ", style=style)
            least.append(f" {brief} " if mode == "context" else f"{brief} ", style=style)
        if mode == "context":
            compact.append(" hurts", style="dim")
            least.append(" hurts", style="dim")
        hints = full.copy()
        hints.append("  c: colour  d: off" if self.whose else "  C: off" if mode == "context"
                     else "  c: switch", style="dim")  # fmt: skip
        width = self.size.width - 2 if self.size.width else 200  # inside the padding
        # the hints go first, then the long forms; the runs' names and every colour stay
        shown = next((t for t in (hints, full, compact) if t.cell_len <= width), least)
        self.update(shown, layout=False)

    def on_resize(self) -> None:
        self.show(self.mode)
