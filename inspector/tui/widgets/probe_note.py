"""A probe document's note, and once the model has answered it, its verdict: above the text
for as long as the document is open (state, not an event: never a toast that covers a table)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from inspector import visible


class ProbeNote(Static):
    DEFAULT_CSS = """
    ProbeNote { height: auto; max-height: 4; padding: 0 1; background: $boost; display: none; }
    """

    def show(self, task: str | None, note: str = "", verdict: str = "") -> None:
        """The probe's task, note and verdict; `task` None hides the line (not a probe)."""
        self.display = task is not None
        if task is None:
            return
        text = Text.assemble(("probe ", "dim"), (visible.line(task), "bold"), ": ",
                             visible.line(note))  # fmt: skip
        text.append(f"\n{visible.line(verdict)}" if verdict else "  (P asks the model)", "dim")
        self.update(text)
