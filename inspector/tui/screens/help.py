"""`?`: every key of the app, grouped by purpose, generated from its bindings so it never
falls behind."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# The groups of the help screen, in order, and the actions in each (by name, before any "(")
GROUPS = (
    ("move", {"step", "word", "document", "first", "last"}),
    ("jump", {"pick_task", "jump", "threshold"}),
    ("search", {"search", "search_again", "goto"}),
    ("view", {"colour", "tasks_screen", "help", "quit"}),
    (
        "ask the model",
        {
            "contrast",
            "run_probe",
            "depth",
            "context",
            "write",
            "save_written",
            "overview",
            "examples",
        },
    ),
    ("compare runs", {"compare", "pick_runs", "change_page", "changed", "pick_trend", "trend"}),
    (
        "annotate",
        {"annotate", "label", "accept", "skip", "undo", "note", "back_target", "agreement"},
    ),
)
TYPED = {
    "plus": "+", "minus": "-", "equals_sign": "=", "slash": "/", "question_mark": "?",
    "colon": ":", "left_square_bracket": "[", "right_square_bracket": "]",
}  # fmt: skip


def shown_keys(binding: Binding) -> str:
    """A binding's keys as they are typed: `+, =` rather than `plus, equals_sign`."""
    return ", ".join(TYPED.get(k.strip(), k.strip()) for k in binding.key.split(","))


def group_of(binding: Binding) -> str:
    name = binding.action.split("(")[0]
    return next((group for group, actions in GROUPS if name in actions), "other")


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 80; max-width: 95%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]

    def __init__(self, bindings: list[Binding], labels: list[str] | None = None) -> None:
        super().__init__()
        self.keys = bindings
        self.labels = labels or []

    def rows(self) -> dict[str, list[tuple[str, str]]]:
        """(keys, what they do) per group; the label keys 1-9 as one row naming the labels."""
        grouped: dict[str, list[tuple[str, str]]] = {group: [] for group, _ in GROUPS}
        for b in self.keys:
            if b.action.startswith("label("):
                continue
            grouped.setdefault(group_of(b), []).append((shown_keys(b), b.tooltip or b.description))
        if any(b.action.startswith("label(") for b in self.keys):
            named = ", ".join(f"{i} {label}" for i, label in enumerate(self.labels, 1))
            grouped["annotate"].insert(
                0, (f"1-{max(1, len(self.labels))}", f"label the target: {named}")
            )
        grouped["view"].append(("ctrl+p", "the command palette: every action by name"))
        grouped["move"].append(("click", "select the target under the mouse"))
        return grouped

    def compose(self) -> ComposeResult:
        tables = []
        for group, rows in self.rows().items():
            table = Table(box=None, padding=(0, 2), title=Text(group, style="bold"),
                          title_justify="left", show_header=False)  # fmt: skip
            table.add_column("key", style="bold", min_width=14)
            table.add_column("what it does")
            for keys, what in rows:
                table.add_row(Text(keys), Text(what))
            tables.append(table)
        with VerticalScroll():
            yield Static(Group(Text("inspector keys", style="bold underline"), *tables))

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(result)
