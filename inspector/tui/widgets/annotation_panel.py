"""Annotation mode: the order, the annotator, progress as a bar, and each label key with its
label and count."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from inspector import visible
from inspector.labels.queue import Labelling
from inspector.tui.widgets.packing import packed
from inspector.tui.widgets.task_panel import TASK_STYLES

BAR = 24


class AnnotationPanel(Static):
    DEFAULT_CSS = """
    AnnotationPanel { height: auto; border: round $warning; padding: 0 1; display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "annotate"
        self._shown: tuple[Labelling, list[str], str, dict[str, Any] | None] | None = None

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)  # the bar follows the panel's width

    def show(
        self,
        labelling: Labelling,
        labels: list[str],
        db_name: str,
        row: dict[str, Any] | None = None,
    ) -> None:
        """The order, who labels into which file, progress, what this target already got
        (after going back), why it came now (`uncertain`), and the label keys."""
        self._shown = (labelling, labels, db_name, row)
        p = labelling.progress()
        total = max(1, p.labelled + p.skipped + p.left)
        finished = p.labelled + p.skipped
        count = f" {finished:,} of {total:,} done"
        avail = self.size.width or 40  # the content's width: inside border and padding
        bar = max(6, min(BAR, avail - len(count)))  # the count stays on the bar's line
        done = max(1 if finished else 0, round(bar * finished / total))  # one cell once begun
        order = labelling.order + (
            f":{labelling.per_task}" if labelling.order == "stratified" else ""
        )
        text = Text.assemble(
            order, (" order · ", "dim"), visible.line(labelling.annotator),
            (" → ", "dim"), visible.line(db_name), "\n",
            ("█" * done, "green"), ("░" * (bar - done), "dim"), count, "\n",
            f"{p.labelled:,} labelled, {p.skipped:,} skipped", "\n",
        )  # fmt: skip
        # each label key with its label and how many it got so far, packed into lines of
        # the panel's width (an entry never split: the footer may say only `1-4 label`)
        keys = [
            Text.assemble((f"{i} ", "bold"), (visible.line(label), TASK_STYLES.get(label, "bold green")),
                          (f" ({p.per_label[label]:,})" if p.per_label.get(label) else "", "dim"))
            for i, label in enumerate(labels, 1)
        ]  # fmt: skip
        text.append_text(packed(keys, avail))
        text.append("\n")
        given = labelling.given()
        if given is not None:  # back on a target already done: say what it got
            what = "skipped" if given["action"] == "skip" else f"labelled {given['label']}"
            text.append(f"this target: {visible.line(what)} (a new key replaces it)\n", "bold")
        if labelling.order == "uncertain" and row is not None:
            rule = row["task_reason"]
            agreed, n = labelling.rule_counts().get(rule, (0, 0))
            why = (
                f"people agreed with it {agreed} of {n} times so far"
                if n
                else "no labels yet, so its targets come by loss, highest first"
            )
            text.append(f"rule {visible.line(rule)}: {why}\n", "dim")
        # accept, skip and undo are in the footer
        text.append("n note · ⌫ back · a leave", style="dim")
        if labelling.pending_note:
            text.append(f"\nnote for the next label: {labelling.pending_note!r}", style="italic")
        self.update(text)
