"""A task's highest-loss targets as keyword-in-context lines (from the `z` key or Enter on a
task in the `s` screen); Enter on a line goes to that target."""

from __future__ import annotations

import polars as pl
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from inspector import visible

CONTEXT = 32  # characters of text shown on each side


def _flat(text: str) -> str:
    return visible.line(text.replace("\n", "↵"))


class ExamplesScreen(ModalScreen[tuple[str, int] | None]):
    DEFAULT_CSS = """
    ExamplesScreen { align: center middle; }
    ExamplesScreen > Vertical { width: 95%; height: 90%; border: round $primary;
        background: $surface; padding: 0 1; }
    ExamplesScreen DataTable { height: 1fr; }
    """
    BINDINGS = [Binding("escape,q", "dismiss_none", "close")]

    def __init__(self, title: str, table: pl.DataFrame) -> None:
        super().__init__()
        self.title_text, self.table = title, table

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = Text(visible.line(self.title_text))
            yield Static(Text("enter: go to the target · esc: close", style="dim"))
            grid: DataTable[Text] = DataTable(zebra_stripes=True, cursor_type="row")
            for name in ("left", "target", "right", "loss", "rank", "rule", "where"):
                grid.add_column(name, key=name)
            # the context narrows on a narrow screen, so loss and rank stay in view
            n = max(10, min(CONTEXT, (self.app.size.width - 56) // 2))
            for r in self.table.iter_rows(named=True):
                grid.add_row(
                    Text(_flat(r["left"])[-n:].rjust(n)),
                    Text(_flat(r["target"]), style="bold reverse"),
                    Text(_flat(r["right"])[:n]),
                    Text(f"{r['nll']:.2f}", justify="right"),
                    Text(f"{r['rank']:,}", justify="right"),
                    Text(visible.line(r["task_reason"])),
                    Text(f"{_flat(r['doc_id'])}:{r['pos']}"),
                )
            yield grid

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        row = self.table.row(event.cursor_row, named=True)
        self.dismiss((str(row["doc_id"]), int(row["pos"])))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
