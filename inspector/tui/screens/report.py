"""A text report computed off the event loop (agreement, per-task loss across models), shown
in a modal; ANSI colours in it (a plotext plot) are kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from inspector import visible
from inspector.errors import InspectorError


class ReportScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    ReportScreen { align: center middle; }
    ReportScreen > VerticalScroll { width: 95%; height: 90%; border: round $primary;
        background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q", "dismiss", "close")]

    @dataclass
    class Ready(Message):
        """The report's text."""

        text: str

    def __init__(self, title: str, compute: Callable[[], str]) -> None:
        super().__init__()
        self.title_text, self.compute_text = title, compute
        self.shown: str | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = Text(visible.line(self.title_text))  # never markup
            yield Static(Text("computing…", style="dim"), id="report-body")

    def on_mount(self) -> None:
        self.compute()

    @work(thread=True, exclusive=True, exit_on_error=False, group="report")
    def compute(self) -> None:
        try:
            text = self.compute_text()
        except InspectorError as e:
            text = f"cannot compute this: {e}"
        self.post_message(self.Ready(text))

    def on_report_screen_ready(self, message: ReportScreen.Ready) -> None:
        self.shown = message.text
        body = Text.from_ansi(visible.keep_colour(message.text))  # colours, no other escapes
        self.query_one("#report-body", Static).update(body)

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(result)
