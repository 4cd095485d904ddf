"""The task of the current target, the rule that decided it, and the spaCy attributes behind it."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from inspector import visible

TASK_STYLES = {
    "grammar": "bold cyan",
    "world_knowledge": "bold magenta",
    "punctuation": "bold yellow",
    "arbitrary": "bold red",
    "whitespace": "dim",
}


class TaskPanel(Static):
    """One or two lines: task, reason, word, POS, tag, entity, first piece or continuation."""

    DEFAULT_CSS = """
    TaskPanel { height: 5; border: round $secondary; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "task"

    def show(self, row: dict[str, Any] | None) -> None:
        if row is None:
            self.update(Text("-", style="dim"), layout=False)
            return
        task = row["task"]
        self.update(
            Text.assemble(
                (visible.line(task), TASK_STYLES.get(task, "bold green")),
                ("  rule ", "dim"),
                visible.line(row["task_reason"]),
                "\n",
                ("word ", "dim"),
                repr(row["word"]),
                "  ",
                row["spacy_pos"] or "-",
                " ",
                row["spacy_tag"] or "-",
                ("  entity ", "dim"),
                row["ent_type"] or "-",
                ("  ", ""),
                ("first piece" if row["word_initial"] else "continuation", "dim"),
            ),  # fmt: skip
            layout=False,
        )
