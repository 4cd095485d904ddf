"""Annotation mode: the order, the annotator, the keys of the labels, and progress as a bar."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from inspector import visible
from inspector.labelling import Labelling
from inspector.tui.widgets.task_panel import TASK_STYLES

BAR = 24


class AnnotationPanel(Static):
    DEFAULT_CSS = """
    AnnotationPanel { height: auto; border: round $warning; padding: 0 1; display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "annotate"

    def show(self, labelling: Labelling, labels: list[str], db_name: str) -> None:
        p = labelling.progress()
        total = max(1, p.labelled + p.skipped + p.left)
        done = round(BAR * (p.labelled + p.skipped) / total)
        text = Text.assemble(
            ("order ", "dim"), labelling.order + (f":{labelling.per_task}" if labelling.order == "stratified" else ""),
            ("  by ", "dim"), visible.line(labelling.annotator), ("  into ", "dim"), visible.line(db_name), "\n",
            ("█" * done, "green"), ("░" * (BAR - done), "dim"),
            f" {p.labelled} labelled, {p.skipped} skipped, {p.left} left\n",
        )  # fmt: skip
        for i, label in enumerate(labels, 1):
            text.append(f"{i} ", style="bold")
            text.append(visible.line(label), style=TASK_STYLES.get(label, "bold green"))
            text.append(f" {p.per_label.get(label, 0)}  ")
        text.append(
            "\nenter accept · space skip · u undo · n note · backspace back · a leave", style="dim"
        )
        if labelling.pending_note:
            text.append(f"\nnote for the next label: {labelling.pending_note!r}", style="italic")
        self.update(text)
