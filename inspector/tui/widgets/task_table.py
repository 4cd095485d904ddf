"""Per-task loss for the current document beside everything scored so far, in one table."""

from __future__ import annotations

import polars as pl
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from inspector import visible
from inspector.tui.widgets.task_panel import TASK_STYLES

# the columns, widest layout first; a panel too narrow for one takes the next
LAYOUTS = (
    ("doc tokens", "doc loss", "all tokens", "all loss", "share"),
    ("doc loss", "all tokens", "all loss", "share"),
    ("doc loss", "all loss", "share"),
)
# headers: `n` the targets of the task, `loss` their mean loss; the narrowest layout's shorter
HEADS = {"doc tokens": "doc n", "all tokens": "all n"}
SHORT = {"doc loss": "doc", "all loss": "all"}


def task_rows(document: pl.DataFrame, everything: pl.DataFrame) -> list[dict[str, object]]:
    """One row per task (the corpus's order: biggest share of the loss first, then tasks of
    this document only), and an `all` row: tokens, mean loss, and share of the loss."""
    doc = {r["task"]: r for r in document.iter_rows(named=True)}
    every = {r["task"]: r for r in everything.iter_rows(named=True)}
    tasks = [*every, *(t for t in doc if t not in every)]
    rows: list[dict[str, object]] = []
    for task in tasks:
        d, e = doc.get(task, {}), every.get(task, {})
        rows.append({"task": task, "doc tokens": d.get("tokens"), "doc loss": d.get("mean_nll"),
                     "all tokens": e.get("tokens"), "all loss": e.get("mean_nll"),
                     "share": e.get("loss_share")})  # fmt: skip
    rows.append({"task": "all", "doc tokens": _count(document), "doc loss": _mean(document),
                 "all tokens": _count(everything), "all loss": _mean(everything),
                 "share": 1.0 if _count(everything) else None})  # fmt: skip
    return rows


def _count(summary: pl.DataFrame) -> int:
    return int(summary["tokens"].sum()) if summary.height else 0


def _mean(summary: pl.DataFrame) -> float | None:
    n = _count(summary)
    return float((summary["tokens"] * summary["mean_nll"]).sum()) / n if n else None


def _cell(column: str, value: object) -> str:
    if value is None:
        return "-"
    if column == "share":
        return f"{value:.0%}"
    if column.endswith("tokens"):
        return f"{value:,}"
    return f"{value:.2f}"


def task_table(rows: list[dict[str, object]], width: int) -> Table:
    """The widest layout that fits `width` cells with every task's name whole; in a panel too
    narrow even for the narrowest, long names are cut (`world_kn…`), never a number."""
    cells = {c: [_cell(c, r[c]) for r in rows] for layout in LAYOUTS for c in layout}
    names = max(len(visible.line(r["task"])) for r in rows)
    for layout in LAYOUTS:  # the widest where every task's name fits whole, else the narrowest
        heads = [(SHORT if layout is LAYOUTS[-1] else HEADS).get(c, c) for c in layout]
        widths = [max(len(h), *map(len, cells[c])) for h, c in zip(heads, layout, strict=True)]
        if names + sum(widths) + len(widths) <= width:
            break
    table = Table(box=None, padding=(0, 0, 0, 1), pad_edge=False, expand=True)
    table.add_column("task", no_wrap=True, overflow="ellipsis", ratio=1)
    for head, w in zip(heads, widths, strict=True):
        table.add_column(head, justify="right", no_wrap=True, min_width=w)
    for i, r in enumerate(rows):
        task = str(r["task"])
        style = "bold" if i == len(rows) - 1 else TASK_STYLES.get(task, "green")
        table.add_row(Text(visible.line(task), style=style), *(cells[c][i] for c in layout))
    return table


class TaskTable(Static):
    """This document's loss by task beside all documents scored so far; an `all` row."""

    DEFAULT_CSS = """
    TaskTable { height: auto; max-height: 45%; border: round $accent; padding: 0 1; overflow-y: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "loss by task (nats)"
        self._shown: tuple[pl.DataFrame, pl.DataFrame, int, int] | None = None

    def show(
        self, document: pl.DataFrame, everything: pl.DataFrame, scored_docs: int, total_docs: int
    ) -> None:
        self._shown = (document, everything, scored_docs, total_docs)
        width = self.size.width or 40  # the content's width, inside the padding
        subtitles = (f"doc: this document · all: {scored_docs} of {total_docs} scored",
                     f"all: {scored_docs}/{total_docs} documents", f"{scored_docs}/{total_docs}")  # fmt: skip
        self.border_subtitle = next((t for t in subtitles if len(t) + 6 <= width + 4), "")
        self.update(task_table(task_rows(document, everything), width))

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)
