"""The context of the target under the cursor, by attribution (`C`): above the text, which
earlier tokens the prediction leaned on most, each with how far back it is and its score;
the text itself is coloured by the same scores (`DocumentView`'s "context" mode). State,
not an event: it stays until the cursor moves or `C` is pressed again."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from inspector import visible
from inspector.tui.widgets.packing import packed


class ContextPanel(Static):
    DEFAULT_CSS = """
    ContextPanel { height: auto; max-height: 4; padding: 0 1; background: $boost; display: none; }
    """

    def computing(self, target: str, tokens: int) -> None:
        self.display = True
        self.update(Text(f"context of {visible.line(target)}: attributing {tokens:,} tokens "
                         "(a forward and a backward pass)…", style="dim"))  # fmt: skip

    def show(self, target: str, method: str, nll: float, top: Sequence[tuple[str, int, float]],
             seconds: float) -> None:  # fmt: skip
        """`top`: (token, tokens back, score in nats) of the largest contributors."""
        self.display = True
        how = "gradient x input" if method == "gradient" else "occlusion"
        head = Text.assemble(("context ", "dim"), (visible.line(target), "bold"),
                             (f" ({how}, {seconds:.1f} s; C: off)", "dim"))  # fmt: skip
        fields = [
            Text.assemble((visible.line(repr(tok)), "bold"), f" {back} back ", f"{score:+.3g}")
            for tok, back, score in top
        ]
        width = max(20, (self.size.width or 80) - 2)
        body = packed(fields, width) if fields else Text("nothing in its context moves it")
        self.update(head + Text("\n") + body)

    def hide(self) -> None:
        self.display = False
