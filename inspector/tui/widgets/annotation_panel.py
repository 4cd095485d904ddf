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
SHORT = 30  # a screen fewer rows high keeps this panel short, so candidates show below it


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
        avail = self.size.width or 40  # the content's width: inside border and padding
        # on a short screen (80x24) the panel keeps to three lines: the labelled count is the
        # keys' own counts, the skipped count joins the bar's line where it fits (else the
        # keys), and the reminder of n, backspace and a is left to `?` (the footer names n, a)
        short = 0 < self.app.size.height < SHORT
        count = f" {finished:,} of {total:,} done"
        skipped = f"{p.skipped:,} skipped" if short and p.skipped else ""
        if skipped and len(f" {finished:,}/{total:,}, {skipped}") + 6 <= avail:
            count, skipped = f" {finished:,}/{total:,}, {skipped}", ""
        bar = max(6, min(BAR, avail - len(count)))  # the count stays on the bar's line
        done = max(1 if finished else 0, round(bar * finished / total))  # one cell once begun
        order = labelling.order + (
            f":{labelling.per_task}" if labelling.order == "stratified" else ""
        )
        who = f"{visible.line(labelling.annotator)} → {visible.line(db_name)}"
        # on a short screen the order and file are in the bottom border where they fit
        # whole (a line saved), else on the panel's first line as on a tall one
        below = short and len(f"{order} · {who}") <= avail - 2
        self.border_subtitle = f"{order} · {who}" if below else ""
        text = Text() if below else Text.assemble(order, (" order · ", "dim"), who, "\n")
        text.append_text(Text.assemble(
            ("█" * done, "green"), ("░" * (bar - done), "dim"), count, "\n",
        ))  # fmt: skip
        if not short:
            text.append(f"{p.labelled:,} labelled, {p.skipped:,} skipped\n")
        # each label key with its label and how many it got so far, packed into lines of
        # the panel's width (an entry never split: the footer may say only `1-4 label`)
        keys = [  # a short screen keeps the keys to two lines: the counts are at `K`
            Text.assemble((f"{i} ", "bold"), (visible.line(label), TASK_STYLES.get(label, "bold green")),
                          (f" ({p.per_label[label]:,})" if p.per_label.get(label) and not short else "", "dim"))
            for i, label in enumerate(labels, 1)
        ]  # fmt: skip
        if skipped:
            keys.append(Text(skipped, style="dim"))
        text.append_text(packed(keys, avail))
        text.append("\n")
        given = labelling.given()
        if given is not None:  # back on a target already done: say what it got
            what = "skipped" if given["action"] == "skip" else f"labelled {given['label']}"
            what = given["label"] if short and given["action"] != "skip" else what
            why = "" if short else " (a new key replaces it)"
            text.append(f"this target: {visible.line(what)}{why}\n", "bold")
        if labelling.order == "uncertain" and row is not None:
            text.append(_why_now(labelling, row["task_reason"]), "dim")
        # accept, skip and undo are in the footer
        if not short:
            text.append("n note · ⌫ back · a leave\n", style="dim")
        if labelling.pending_note:  # on a short screen one line: `n` shows it whole
            note = f"note for the next label: {visible.line(repr(labelling.pending_note))}"
            text.append(visible.cut(note, avail) if short else note)  # cut in cells: CJK too
        text.rstrip()
        self.update(text)


def _why_now(labelling: Labelling, rule: str) -> str:
    """Why a target comes now in the `uncertain` order: how often people agreed with its rule."""
    agreed, n = labelling.rule_counts().get(rule, (0, 0))
    why = (
        f"people agreed with it {agreed} of {n} times so far"
        if n
        else "no labels yet, so its targets come by loss, highest first"
    )
    return f"rule {visible.line(rule)}: {why}\n"
