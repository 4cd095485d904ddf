"""`s`: per-task loss of this corpus, and how it moves with model size across the models
whose tables of the same corpus the cache holds (`inspector tasks --model A --model B`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static


class TasksScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    TasksScreen { align: center middle; }
    TasksScreen > VerticalScroll { width: 95%; height: 90%; border: round $primary;
        background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,s", "dismiss", "close")]

    @dataclass
    class Ready(Message):
        """The tables and the plot, computed off the event loop."""

        text: str
        plot: str

    def __init__(self, cache_dir: Path, corpus: str, rules_hash: str) -> None:
        super().__init__()
        self.cache_dir, self.corpus, self.rules_hash = cache_dir, corpus, rules_hash
        self.shown: TasksScreen.Ready | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(
                Text("reading the cached tables of this corpus…", style="dim"), id="tasks-body"
            )

    def on_mount(self) -> None:
        self.compute(self.size.width)

    @work(thread=True, exclusive=True, exit_on_error=False, group="tasks")
    def compute(self, width: int) -> None:
        import polars as pl

        from inspector.pipeline import cached_runs
        from inspector.tasks import Run, compare, plot, render

        found = cached_runs(self.cache_dir, self.corpus, self.rules_hash)
        if not found:
            self.post_message(self.Ready("nothing of this corpus is in the cache yet", ""))
            return
        runs = [Run(s.get("model", "?"), t.lazy(), s, s.get("model", "?")) for s, t in found]
        table = compare(runs, "task")
        shown = table.select(
            "model", "n_params", "task", "tokens", "mean_nll", "loss_contribution", "delta_mean_nll"
        )
        note = f"{len(runs)} model(s) of this corpus in the cache, smallest first" + (
            ""
            if len(runs) > 1
            else "; score it with others to compare: inspector tasks --model A --model B"
        )
        drawing = plot(table.with_columns(pl.col("n_params").fill_null(0)), max(40, width - 8), 18)
        self.post_message(self.Ready(note + "\n\n" + render(shown, "table"), drawing))

    def on_tasks_screen_ready(self, message: TasksScreen.Ready) -> None:
        self.shown = message  # what is on screen, for tests and for copying
        parts = [Text(message.text)]
        if message.plot:
            parts.append(Text.from_ansi(message.plot))
        self.query_one("#tasks-body", Static).update(Group(*parts))

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(result)
