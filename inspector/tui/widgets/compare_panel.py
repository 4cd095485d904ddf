"""Compare mode's next-token panel: the unit under the cursor in every run, and the first and
last runs' candidates side by side, each run's true token marked."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from inspector import visible
from inspector.tui.widgets.next_token import probability, shown


def one_format(probs: list[float]) -> Any:
    """How the runs' probabilities are written, one way for all of them: percentages, or
    scientific notation for all where one would read 0.00% (`probability`)."""
    if any(p < 5e-5 for p in probs):
        return lambda p: f"{p:.1e}"
    return probability


class ComparePanel(Static):
    """The unit's loss in each run, its change, and two runs' top-k next to each other."""

    DEFAULT_CSS = """
    ComparePanel { height: 1fr; min-height: 6; border: round $primary; padding: 0 1; overflow: hidden; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "compare"
        self._shown: tuple[Any, ...] = (None, [], [], "")

    def on_resize(self) -> None:
        self.show(*self._shown)

    def show(
        self,
        unit: dict[str, Any] | None,
        names: list[str],
        rows: list[dict[str, Any] | None],
        note: str = "",
    ) -> None:
        """Render `unit` (a compared unit's row) with each run's row at its first piece."""
        self._shown = (unit, names, rows, note)
        if unit is None:
            self.update(Text(note or "this target is in no compared unit", style="dim"))
            return
        avail = max(24, self.size.width - 4)
        delta = unit["delta"]
        head = Text.assemble(
            ("unit ", "dim"), (visible.line(shown(unit["text"])), "bold"),
            ("  ", ""), (visible.line(unit["task"]), "dim"), "\n",
            ("change ", "dim"), (f"{delta:+.2f} nats", "bold"),
            (f"  {unit['trend']}" if unit.get("trend") else "", "dim"),
        )  # fmt: skip
        # each run's loss of the unit, its worst piece's rank, and the true token's
        # probability where the unit is one piece; short forms in a narrow panel
        wide = avail >= 44
        name_width = max(6, min(max(len(n) for n in names), avail - (30 if wide else 18)))
        ones = [r is not None and unit[f"pieces_{i}"] == 1 for i, r in enumerate(rows)]
        shown_p = one_format([r["prob"] for r, one in zip(rows, ones, strict=True) if one])  # type: ignore[index]
        for i, name in enumerate(names):
            row = rows[i]
            one = ones[i]
            nll, rank = unit[f"nll_{i}"], unit[f"rank_{i}"]
            head.append(
                f"\n{visible.cut(visible.line(name), name_width):<{name_width}} ", style="dim"
            )
            if wide:
                p = f"  p {shown_p(row['prob'])}" if one and row is not None else ""
                head.append(f"{nll:5.2f} nats  rank {rank:,}{p}")
            else:
                p = f" {shown_p(row['prob'])}" if one and row is not None else ""
                head.append(f"{nll:5.2f} #{rank:,}{p}")
        head.append_text(self._columns(names, rows, avail))
        self.update(head)

    def _columns(self, names: list[str], rows: list[dict[str, Any] | None], avail: int) -> Text:
        """The first and last runs' candidates at the unit's first piece, side by side."""
        a, b = rows[0], rows[-1]
        half = (avail - 1) // 2
        token_width = max(4, half - 7)
        out = Text()
        out.append(
            f"\n{visible.cut(names[0], half):<{half}} {visible.cut(names[-1], half)}", style="dim"
        )
        lines = max(len(r["top_ids"]) if r is not None else 0 for r in (a, b))
        for k in range(lines):
            out.append("\n")
            for j, r in enumerate((a, b)):
                if r is None or k >= len(r["top_ids"]):
                    out.append(" " * half)
                else:
                    label = visible.cut(shown(r["top_tokens"][k]), token_width)
                    true = r["top_ids"][k] == r["token_id"]
                    out.append(label, style="bold reverse" if true else "")
                    out.append(" " * (token_width - cell_len(label)))
                    out.append(f" {r['top_probs'][k]:5.1%}", style="green" if true else "cyan")
                if j == 0:
                    out.append(" ")
        return out
