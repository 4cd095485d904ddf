"""Annotation mode: the label keys (named after the labels), what the footer shows, and the
actions that label, skip, undo, note and go back; the labelling queue and the store do
the work (`labels/`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from textual.binding import Binding

from inspector.labels.columns import ANNOTATOR_NAME as NAME
from inspector.labels.place import default_db, label_db
from inspector.labels.queue import Labelling
from inspector.labels.store import Store
from inspector.run.errors import USER_ERRORS
from inspector.tui.browsing import BrowsingApp
from inspector.tui.keys import ANNOTATE_ACTIONS, BROWSE_KEYS
from inspector.tui.reports import agreement_report
from inspector.tui.screens.help import HelpScreen
from inspector.tui.screens.prompt import PromptScreen
from inspector.tui.screens.report import ReportScreen
from inspector.tui.widgets.annotation_panel import SHORT, AnnotationPanel
from inspector.tui.widgets.task_panel import TaskPanel
from inspector.tui.widgets.task_table import TaskTable


@dataclass(frozen=True)
class AnnotateOptions:
    """Where labels go, whose they are, and in which order targets come."""

    db: Path | None = None  # None: the default (labels.place), resolved when labelling starts
    annotator: str = "anonymous"
    order: str = "text"  # documents scored per round trip; the one on screen always goes first
    corpus_path: str = ""  # where the documents were read from, kept with each label


class AnnotatingApp(BrowsingApp):
    """Browsing, plus labelling targets by hand."""

    mode: str
    labelling: Labelling | None
    browse_place: tuple[int, int] | None
    store: Store | None
    annotate_options: AnnotateOptions
    model_label: str

    # -- annotation mode ------------------------------------------------------------------
    @functools.cached_property
    def labels(self) -> list[str]:
        """Label keys 1..9: the four tasks, then any other label the rules can give."""
        from inspector.labels.queue import BASE_LABELS
        from taggers.rules import load_rules

        rules = self.rules or load_rules()
        extra = [t for t in rules.tasks() if t not in BASE_LABELS and t != "whitespace"]
        return [*BASE_LABELS, *extra][:9]

    def _name_label_keys(self) -> None:
        """The footer says `1 grammar`, not `1 label 1`: each label key's binding renamed
        after its label (labels depend on the rules, known once annotation starts). Where
        the footer is too narrow for every label's name beside the annotation keys (80
        columns), the label keys are one entry, `1-4 label`; the panel names each."""
        compact = self._labels_too_wide()
        last = len(self.labels)
        for i, label in enumerate(self.labels, 1):
            key = str(i)
            self._bindings.key_to_bindings[key] = [
                Binding(
                    key,
                    f"label({i})",
                    "label" if compact else label,
                    show=not compact or i == 1,
                    key_display=f"1-{last}" if compact and last > 1 else None,
                    tooltip=f"annotate: label the target {label}",
                )  # fmt: skip
            ]
        self.label_keys_compact = compact

    label_keys_compact = False

    def _labels_too_wide(self) -> bool:
        """Whether the footer, every label named, is wider than the screen: each entry is
        its key, a space, its description and a space either side; then the palette key."""
        others = [
            b for bindings in self._bindings.key_to_bindings.values() for b in bindings
            if b.show and not b.action.startswith("label(") and self.footer_shows(b.action)
        ]  # fmt: skip
        labels = sum(len(str(i)) + len(label) + 3 for i, label in enumerate(self.labels, 1))
        rest = sum(len(self.get_key_display(b)) + len(b.description) + 3 for b in others)
        return labels + rest + len(" ▏^p palette ") > self.size.width

    def on_resize(self) -> None:
        if self.labelling is not None and self._labels_too_wide() != self.label_keys_compact:
            self._name_label_keys()
            self.refresh_bindings()
        self.refresh_annotation()  # a short screen: panels keep short, the table on `s`

    def footer_shows(self, action: str) -> bool:
        """Whether the footer shows a binding: in annotation mode the label keys there are,
        the annotation keys, help and quit; the browsing keys work but are not listed."""
        if self.mode != "annotate":
            return True
        name, _, args = action.partition("(")
        if name == "label":
            return int(args.rstrip(")")) <= len(self.labels)
        return name not in BROWSE_KEYS

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ANNOTATE_ACTIONS:
            return self.mode == "annotate" and self.labelling is not None
        return True

    def action_annotate(self) -> None:
        """Annotate from the queue's next target; `a` again returns to the browsing place."""
        if self.mode == "annotate":
            self.mode = "browse"
            if self.browse_place is not None:
                self.session.goto(*self.browse_place)
                self.browse_place = None
        else:
            self.mode = "annotate"
            self.browse_place = (self.session.doc, self.session.pos)
            if self.labelling is None and self.session.rows:
                self._start_annotating()
            elif self.labelling is not None:
                self.labelling.to_next_unlabelled()
        self.refresh_bindings()
        self.refresh_view()

    def ask_annotator(self) -> None:
        """Who is annotating, asked before any label is given (`--ask-annotator`: a browser
        tab of `inspector serve` opened without ?annotator=NAME). Asked again until named."""

        def named(answer: str | None) -> None:
            name = (answer or "").strip()
            if not NAME.fullmatch(name):
                rule = "1-64 letters, digits or . @ + - _, no spaces, not starting with -"
                self.notify(f"a name is needed: labels are kept per annotator ({rule})", markup=False,
                            severity="warning")  # fmt: skip
                self.ask_annotator()
                return
            self.annotate_options = replace(self.annotate_options, annotator=name)
            self.sub_title = f"annotator {name}"
            if self.mode == "annotate" and self.labelling is None and self.session.rows:
                self._start_annotating()
                self.refresh_view()

        self.push_screen(
            PromptScreen("Who is annotating? Your labels are saved under this name.", "your name"),
            named,
        )

    def _start_annotating(self) -> None:
        opts = self.annotate_options
        if not opts.annotator:  # still being asked (ask_annotator starts it once named)
            return
        try:
            where = label_db(opts.db, create=True)
            self.store = Store(where.path)
            self.labelling = Labelling(
                self.session,
                self.store,
                opts.annotator,
                self.corpus_key,
                self.model_label,
                opts.order,
                tuple(self.labels),
                corpus_path=opts.corpus_path,
            )
        except USER_ERRORS as e:
            self.mode = "browse"
            self.notify(str(e), title="cannot annotate", severity="error", timeout=30, markup=False)
            return
        self.annotate_options = replace(opts, db=where.path)  # K and the panel read this one
        self.notify(where.note, title="annotating", timeout=8, markup=False)
        self._name_label_keys()
        self.refresh_bindings()

    def _labelled(self, act: Callable[[Labelling], object]) -> None:
        assert self.labelling is not None
        doc = self.session.doc
        try:
            act(self.labelling)
        except USER_ERRORS as e:
            self.notify(str(e), title="not saved", severity="error", timeout=30, markup=False)
            return
        self.refresh_view(tables=self.session.doc != doc)

    def action_label(self, number: int) -> None:
        if number > len(self.labels):
            self.notify(f"no label {number}: labels are 1-{len(self.labels)}", markup=False,
                        severity="warning")  # fmt: skip
            return
        self._labelled(lambda lab: lab.act(self.labels[number - 1]))

    def action_accept(self) -> None:
        self._labelled(lambda lab: lab.accept())

    def action_skip(self) -> None:
        self._labelled(lambda lab: lab.act(None))

    def action_undo(self) -> None:
        def undo(lab: Labelling) -> None:
            if not lab.undo():
                self.notify("nothing to undo", timeout=2, markup=False)

        self._labelled(undo)

    def action_back_target(self) -> None:
        self._labelled(lambda lab: lab.back())

    def action_note(self) -> None:
        pending = self.labelling.pending_note if self.labelling is not None else ""
        prompt = PromptScreen("note for this target", "why this label", value=pending)
        self.push_screen(prompt, self._noted)  # a pending note shown whole, to edit

    def _noted(self, text: str | None) -> None:
        if text:
            self._labelled(
                lambda lab: self.notify(f"note {lab.note(text)}", timeout=2, markup=False)
            )

    def action_agreement(self) -> None:
        db, corpus = self.annotate_options.db, self.corpus_key
        name = (db or default_db()).name
        self.push_screen(ReportScreen(f"agreement ({name})", partial(agreement_report, db, corpus)))

    def _name_annotate_key(self) -> None:
        """`a` in the footer says where it goes: `annotate` from browsing, `browse` back."""
        where = "browse" if self.mode == "annotate" else "annotate"
        bindings = self._bindings.key_to_bindings.get("a", [])
        if bindings and bindings[0].description != where:
            self._bindings.key_to_bindings["a"] = [replace(bindings[0], description=where)]
            self.refresh_bindings()

    def refresh_annotation(self) -> None:
        self._name_annotate_key()
        panel = self.query_one(AnnotationPanel)
        panel.display = self.mode == "annotate" and self.labelling is not None
        # labelling, and any short screen, needs the distribution more than the per-task
        # table: the next-token panel takes its room (the table is on `s`, which the task
        # panel's border says), so candidates show at 80x24
        short = 0 < self.size.height < SHORT
        others = not panel.display and not getattr(self, "comparing", False)
        self.query_one(TaskTable).display = others and not short
        self.query_one(TaskPanel).border_subtitle = "s: loss by task" if others and short else ""
        if panel.display and self.labelling is not None:
            db = self.store.path.name if self.store is not None else ""
            panel.show(self.labelling, self.labels, db, self.session.row())

    def action_help(self) -> None:
        bindings = [b for b in self.BINDINGS if isinstance(b, Binding)]
        self.push_screen(HelpScreen(bindings, self.labels))
