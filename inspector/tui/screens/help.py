"""`?`: every key of the app, generated from its bindings so it never falls behind."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 76; max-width: 95%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]

    def __init__(self, bindings: list[Binding]) -> None:
        super().__init__()
        self.keys = bindings

    def compose(self) -> ComposeResult:
        table = Table(box=None, padding=(0, 2), title="inspector keys", title_justify="left")
        table.add_column("key", style="bold")
        table.add_column("what it does")
        for b in self.keys:
            keys = ", ".join(k.strip() for k in b.key.split(","))
            table.add_row(keys, b.tooltip or b.description)
        table.add_row("ctrl+p", "the command palette: every action by name")
        table.add_row("click", "select the target under the mouse")
        with VerticalScroll():
            yield Static(table)

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(result)
