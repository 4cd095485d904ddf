"""The model's next-token distribution at the current target, the true token marked."""

from __future__ import annotations

import math
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

BAR_WIDTH = 12


def shown(token: str) -> str:
    """A token as the reader should see it: quotes, and visible spaces and newlines."""
    return repr(token)


def bar(p: float, width: int = BAR_WIDTH) -> str:
    eighths = round(max(0.0, min(1.0, p)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + ("" if not part else " ▏▎▍▌▋▊▉"[part])


class NextTokenPanel(Static):
    """Top-k candidates with probability bars; loss, probability, rank and entropy."""

    DEFAULT_CSS = """
    NextTokenPanel { height: auto; max-height: 60%; border: round $primary; padding: 0 1; overflow-y: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "next token"

    def show(self, row: dict[str, Any] | None, note: str = "") -> None:
        """Render a token-table row, or `note` while there is none."""
        if row is None:
            self.update(Text(note or "not scored yet", style="dim"))
            return
        nll = row["nll"]
        head = Text.assemble(
            ("target ", "dim"), (shown(row["token"]), "bold"),
            ("  rank ", "dim"), (f"{row['rank']:,}", "bold"),
            ("  p ", "dim"), (f"{row['prob']:.2%}", "bold"), "\n",
            ("loss ", "dim"), f"{nll:.2f} nats = {nll / math.log(2):.2f} bits",
            ("  entropy ", "dim"), f"{row['entropy']:.2f} nats",
        )  # fmt: skip
        table = Table.grid(padding=(0, 1))
        table.add_column(justify="right", style="dim")
        table.add_column(no_wrap=True, overflow="ellipsis", max_width=18)
        table.add_column(width=BAR_WIDTH + 1, no_wrap=True)
        table.add_column(justify="right", width=6)
        for i, (tid, tok, p) in enumerate(
            zip(row["top_ids"], row["top_tokens"], row["top_probs"], strict=True), 1
        ):
            true = tid == row["token_id"]
            style = "bold reverse" if true else ""
            table.add_row(
                str(i),
                Text(shown(tok), style=style),
                Text(bar(p), style="green" if true else "cyan"),
                f"{p:.1%}",
            )
        parts: list[Any] = [head, table]
        if row["rank"] > len(row["top_ids"]):
            parts.append(
                Text.assemble(
                    ("true token outside the top ", "dim"),
                    str(len(row["top_ids"])),
                    ": ",
                    (shown(row["token"]), "bold reverse"),
                    f"  rank {row['rank']:,}  p {row['prob']:.4%}",
                )  # fmt: skip
            )
        from rich.console import Group

        self.update(Group(*parts))
