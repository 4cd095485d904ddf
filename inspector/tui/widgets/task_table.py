"""Per-task loss for the current document and for everything scored so far."""

from __future__ import annotations

import polars as pl
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from inspector import visible
from inspector.tui.widgets.task_panel import TASK_STYLES


def task_table(title: str, summary: pl.DataFrame) -> Table:
    rows = [
        (
            Text.assemble((visible.line(row["task"]), TASK_STYLES.get(row["task"], "green"))),
            f"{row['tokens']:,}",
            f"{row['mean_nll']:.2f}",
            f"{row['loss_share']:.0%}",
        )
        for row in summary.iter_rows(named=True)
    ]
    table = Table(title=title, title_justify="left", box=None, padding=(0, 1), expand=True)
    # in a narrow panel a long task name is cut ("world_kn…"), never a number
    table.add_column("task", no_wrap=True, overflow="ellipsis", ratio=1)
    for i, name in enumerate(("tokens", "loss", "share"), 1):  # loss: mean nats; share: of loss
        widest = max([len(name), *(len(r[i]) for r in rows)])
        table.add_column(name, justify="right", no_wrap=True, min_width=widest)
    for r in rows:
        table.add_row(*r)
    return table


class TaskTable(Static):
    """Two small tables: this document, and all documents scored so far."""

    DEFAULT_CSS = """
    TaskTable { height: auto; max-height: 45%; border: round $accent; padding: 0 1; overflow-y: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "loss by task (nats)"

    def show(
        self, document: pl.DataFrame, everything: pl.DataFrame, scored_docs: int, total_docs: int
    ) -> None:
        self.update(
            Group(
                task_table("this document", document),
                task_table(f"all scored ({scored_docs}/{total_docs} documents)", everything),
            )
        )
