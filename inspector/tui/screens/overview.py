"""Every scored document at a glance (`v`): tokens, mean loss, mean loss per task, and where
the true tokens ranked (GLTR's top-10 / top-100 / top-1000 / beyond, as shares). Arrows pick a
column, `s` sorts by it (again: the other way), Enter opens the document."""

from __future__ import annotations

import polars as pl
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from inspector import visible

# where the true tokens ranked, as shares of the document's targets (bands, adding up to 1)
BUCKETS = (("rank 1-10", 10), ("11-100", 100), ("101-1000", 1000))


def overview(tables: list[pl.DataFrame], tasks: int = 4) -> pl.DataFrame:
    """One row per document of the scored rows: tokens, mean loss, the mean loss of the
    `tasks` most frequent tasks, and the shares of ranks in each GLTR bucket."""
    rows = pl.concat([t.select("doc_id", "task", "nll", "rank") for t in tables])
    top = rows["task"].value_counts(sort=True)["task"].head(tasks).to_list()
    shares = [
        (pl.col("rank") <= edge).mean().alias(name) if i == 0 else
        ((pl.col("rank") > BUCKETS[i - 1][1]) & (pl.col("rank") <= edge)).mean().alias(name)
        for i, (name, edge) in enumerate(BUCKETS)
    ]  # fmt: skip
    return rows.group_by("doc_id", maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("tokens"),
        pl.col("nll").mean().alias("mean_loss"),
        *(pl.col("nll").filter(pl.col("task") == t).mean().alias(t) for t in top),
        *shares,
        (pl.col("rank") > BUCKETS[-1][1]).mean().alias(">1000"),
    )


class OverviewScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    OverviewScreen { align: center middle; }
    OverviewScreen > Vertical { width: 95%; height: 90%; border: round $primary;
        background: $surface; padding: 0 1; }
    OverviewScreen DataTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape,q", "dismiss_none", "close"),
        Binding("s", "sort", "sort by this column"),
    ]

    def __init__(self, table: pl.DataFrame, note: str = "") -> None:
        super().__init__()
        self.table, self.note = table, note
        self.sorted: tuple[str, bool] | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "documents"
            hint = "arrows: a column · s: sort by it (again: reverse) · enter: open · esc: close"
            yield Static(Text(f"{self.note}{hint}", style="dim"))
            grid: DataTable[object] = DataTable(
                zebra_stripes=True, cursor_type="cell", fixed_columns=1
            )
            for name in self.table.columns:
                grid.add_column(visible.line(name), key=name)
            for row in self.table.iter_rows():
                grid.add_row(*(_cell(v) for v in row), key=str(row[0]))
            yield grid

    def action_sort(self) -> None:
        grid = self.query_one(DataTable)
        column = self.table.columns[grid.cursor_column]
        descending = self.sorted != (column, True)  # numbers: biggest first, then the other way
        self.sorted = (column, descending)
        grid.sort(column, key=lambda v: _key(v, descending), reverse=descending)

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        self.dismiss(str(event.cell_key.row_key.value))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


def _cell(value: object) -> object:
    if isinstance(value, float):
        return Text(f"{value:.2f}", justify="right")
    if isinstance(value, int):
        return Text(f"{value:,}", justify="right")
    return Text(visible.line("-" if value is None else value))


def _key(value: object, descending: bool) -> object:
    """A cell's sort key: its number, else its text; a dash (no value) last either way."""
    text = value.plain if isinstance(value, Text) else str(value)
    if text == "-":
        return (0 if descending else 2, 0.0)
    try:
        return (1, float(text.replace(",", "")))
    except ValueError:
        return (1, text)
