"""The model's next-token distribution at the current target, the true token marked."""

from __future__ import annotations

import math
import unicodedata
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from inspector import visible
from inspector.tables.render import bar
from inspector.tui.widgets.packing import packed

BAR_WIDTH = 12
TOKEN_WIDTH = 16


def shown(token: str) -> str:
    """A token as the reader should see it: quotes, and visible spaces and newlines; a
    character that takes no cell on its own where nothing precedes it to join (a combining
    mark of any script, such as the virama ्, a variation selector or a joiner at the
    token's start) as its escape, `'\\u094d'`, never fused with the quote or as empty
    quotes."""
    lead = 0
    while lead < len(token) and _joins(token[lead]):
        lead += 1
    if not lead:
        return repr(token)
    rest = repr(token[lead:])  # its quotes, and the rest escaped as repr escapes it
    return rest[0] + "".join(f"\\u{ord(c):04x}" for c in token[:lead]) + rest[1:]


def _joins(c: str) -> bool:
    """Whether `c` takes no cell alone: a non-spacing or enclosing mark (variation selectors
    are such marks), or a zero-width joiner or non-joiner."""
    return unicodedata.category(c) in ("Mn", "Me") or c in "\u200c\u200d"


def probability(p: float) -> str:
    """A probability as a percentage (`37.3%`, `0.02%`), or in scientific notation where a
    percentage with two decimals would read 0.00% (`2.8e-05`)."""
    return f"{p:.2%}" if p >= 5e-5 else f"{p:.1e}"


class NextTokenPanel(Static):
    """Top-k candidates with probability bars; loss, probability, rank and entropy."""

    DEFAULT_CSS = """
    NextTokenPanel { height: 1fr; min-height: 6; border: round $primary; padding: 0 1; overflow: hidden; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "next token"
        self._shown: tuple[dict[str, Any] | None, str] = (None, "")

    def on_resize(self) -> None:
        self.show(*self._shown)  # the columns follow the panel's width

    def show(self, row: dict[str, Any] | None, note: str = "") -> None:
        """Render a token-table row, or `note` while there is none."""
        self._shown = (row, note)
        if row is None:
            self.update(Text(note or "not scored yet", style="dim"), layout=False)
            return
        nll = row["nll"]
        avail = max(20, self.size.width)  # the content's width: inside border and padding
        outside = row["rank"] > len(row["top_ids"])
        # the figures packed into as few lines as the panel's width allows (two at 80x24,
        # three for a long token or rank; a field never split), so a short panel (annotation
        # mode at 80x24) still has room for the candidates below
        wide = avail >= 46
        token = visible.cut(shown(row["token"]), avail - 7)
        fields = [
            Text.assemble(("target ", "dim"), (token, "bold")),
            Text.assemble(("rank ", "dim"), (f"{row['rank']:,}", "bold")),
            Text.assemble(("p ", "dim"), (probability(row["prob"]), "bold")),
            Text.assemble(("loss ", "dim"), f"{nll:.2f} nats",
                          f" = {nll / math.log(2):.2f} bits" if wide else ""),
            Text.assemble(("entropy ", "dim"), f"{row['entropy']:.2f}", " nats" if wide else ""),
        ]  # fmt: skip
        head = packed(fields, avail, new_line_before=[3])  # the loss starts a line
        if outside:  # said before the list, so a short panel keeps it
            head.append(f"\nnot among the top {len(row['top_ids'])} below", style="dim")
        # plain Text lines with fixed columns: far cheaper to draw than a rich Table, per key
        bar_width = BAR_WIDTH if avail >= 42 else max(4, avail - 30)
        token_width = max(6, min(TOKEN_WIDTH, avail - 11 - bar_width))
        lines = Text()
        for i, (tid, tok, p) in enumerate(
            zip(row["top_ids"], row["top_tokens"], row["top_probs"], strict=True), 1
        ):
            true = tid == row["token_id"]
            label = visible.cut(shown(tok), token_width)  # measured in cells: CJK and marks align
            lines.append(f"\n{i:>2} ", style="dim")
            lines.append(label, style="bold reverse" if true else "")
            lines.append(" " * (token_width - cell_len(label) + 1))
            lines.append(f"{bar(p, bar_width):<{bar_width}}", style="green" if true else "cyan")
            lines.append(f" {p:6.1%}")
        head.append_text(lines)
        self.update(head, layout=False)  # a fixed size: no re-layout per key
