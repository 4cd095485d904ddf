"""Compare mode's side table: per task, what changed between the runs, in this document and
in the corpus; with three runs or more, the share of each trend class."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from inspector import visible
from inspector.tui.widgets.task_panel import TASK_STYLES

TREND_SHORT = {"improving": "impr", "worsening": "wors", "u_shaped": "U", "inverted_u": "∩", "flat": "flat"}  # fmt: skip


def _table(title: str, columns: list[str], rows: Sequence[tuple[Any, ...]]) -> Table:
    table = Table(title=title, title_justify="left", box=None, padding=(0, 1), expand=True)
    table.add_column("task", no_wrap=True, overflow="ellipsis", ratio=1)
    for i, name in enumerate(columns, 1):
        widest = max([len(name), *(len(str(r[i])) for r in rows)])
        table.add_column(name, justify="right", no_wrap=True, min_width=widest)
    for r in rows:
        table.add_row(*r)
    return table


def _task(name: str) -> Text:
    return Text(visible.line(name), style=TASK_STYLES.get(name, "green"))


def change_table(title: str, changes: pl.DataFrame, narrow: bool = False) -> Table:
    """Mean change, shares better and worse (by the threshold), and (unless `narrow`) the
    contribution to the overall change."""
    last = changes.filter(pl.col("model") == changes["model"][-1]) if changes.height else changes
    rows = [
        (
            _task(r["task"]), f"{r['delta_mean_nll']:+.2f}", f"{r['improved']:.0%}",
            f"{r['worsened']:.0%}", f"{r['contribution']:+.2f}",
        )
        for r in last.iter_rows(named=True)
    ]  # fmt: skip
    everything = last.filter(pl.col("task") == "all")["units"]
    units = int(everything[0]) if len(everything) else 0
    title = f"{title} ({units:,} units)" if units else title
    columns = ["Δ", "better", "worse", "contrib"]
    if narrow:  # the task names keep their room; the contributions are in the wider view
        return _table(title, columns[:3], [r[:4] for r in rows])
    return _table(title, columns, rows)


TREND_KEY = "U: worse, then better · ∩: better, then worse"


def trend_table(title: str, trends: pl.DataFrame) -> Table:
    """The share of units in each trend class: improving, worsening, U (worse then better),
    ∩ (better then worse), flat; the two signs explained under it."""
    rows = [
        (_task(r["task"]), *(f"{r[c]:.0%}" for c in TREND_SHORT))
        for r in trends.iter_rows(named=True)
    ]
    table = _table(title, list(TREND_SHORT.values()), rows)
    table.caption, table.caption_justify, table.caption_style = TREND_KEY, "left", "dim"
    return table


PAGES = ("this document", "all documents", "trends, all documents", "trends, this document")


class ChangeTable(Static):
    """One page at a time (T turns it): this document's per-task changes, the corpus's, and
    with three runs or more the trend shares of the corpus and of the document."""

    DEFAULT_CSS = """
    ChangeTable { height: auto; max-height: 60%; border: round $accent; padding: 0 1; overflow-y: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "change by task (nats)"
        self.unit = "nats"  # "nats per word" where the runs are compared by word
        self.page = 0
        self._shown: tuple[Any, ...] | None = None

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)  # the columns follow the panel's width

    def pages(self) -> int:
        return 4 if self._shown is not None and self._shown[2] is not None else 2

    def turn(self) -> None:
        self.page = (self.page + 1) % self.pages()
        if self._shown is not None:
            self.show(*self._shown)

    def show(
        self,
        document: pl.DataFrame,
        corpus: pl.DataFrame,
        trends: tuple[pl.DataFrame, pl.DataFrame] | None,
    ) -> None:
        self._shown = (document, corpus, trends)
        self.page %= self.pages()
        narrow = 0 < self.size.width < 38  # the content width: inside border and padding
        name = PAGES[self.page]
        if self.page < 2:
            table = change_table(name, document if self.page == 0 else corpus, narrow)
        else:
            assert trends is not None
            table = trend_table(name, trends[0] if self.page == 3 else trends[1])
        self.border_title = (
            f"change by task ({self.unit})" if self.page < 2 else "trend shares by task"
        )
        self.border_subtitle = f"{self.page + 1}/{self.pages()} · T: next"
        self.update(table)
