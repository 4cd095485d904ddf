"""The task of the current target, the rule that decided it, and the spaCy attributes behind it."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from inspector import visible
from inspector.tui.widgets.next_token import shown

TASK_STYLES = {
    "grammar": "bold cyan",
    "world_knowledge": "bold magenta",
    "punctuation": "bold yellow",
    "arbitrary": "bold red",
    "whitespace": "dim",
}


class TaskPanel(Static):
    """Task and the rule that gave it; the word, its POS and tag; its entity and whether the
    target is the word's first piece. Three lines, more where a narrow panel wraps one (its
    height follows its text, so nothing is cut)."""

    DEFAULT_CSS = """
    TaskPanel { height: auto; min-height: 5; max-height: 9; border: round $secondary;
                padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "task"

    def show(self, row: dict[str, Any] | None) -> None:
        if row is None:
            self._update(Text("-", style="dim"))
            return
        task = row["task"]
        self._update(
            Text.assemble(
                (visible.line(task), TASK_STYLES.get(task, "bold green")),
                ("  rule ", "dim"),
                visible.line(row["task_reason"]),
                "\n",
                ("word ", "dim"),
                visible.line(shown(row["word"])),
                "  ",
                row["spacy_pos"] or "-",
                " ",
                row["spacy_tag"] or "-",
                "\n",
                ("entity ", "dim"),
                row["ent_type"] or "-",
                "  ",
                ("first piece" if row["word_initial"] else "continuation", "dim"),
            )  # fmt: skip
        )

    def _update(self, text: Text) -> None:
        """Show `text`, laying the screen out again only when its height changes (a relayout
        on every keypress costs more than the rest of a step)."""
        width = self.size.width or 10_000  # the content's width, inside the padding
        lines = len(text.wrap(self.app.console, width))
        self.update(text, layout=lines != self._lines)
        self._lines = lines

    _lines = 0
