"""Your own text (`m`): typed or pasted, scored on the spot and opened like a document."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea


class WriteScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    WriteScreen { align: center middle; }
    WriteScreen > Vertical { width: 90; max-width: 95%; height: 60%; border: round $primary;
        background: $surface; padding: 0 1; }
    WriteScreen TextArea { height: 1fr; }
    """
    BINDINGS = [
        Binding("ctrl+s", "done", "score it", priority=True),
        Binding("escape", "cancel", "cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "your text"
            yield Static("type or paste text · ctrl+s: score it and open it · esc: cancel",
                         markup=False)  # fmt: skip
            yield TextArea(soft_wrap=True)

    def action_done(self) -> None:
        text = self.query_one(TextArea).text
        if not text.strip():
            self.notify("write some text first", severity="warning", markup=False)
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
