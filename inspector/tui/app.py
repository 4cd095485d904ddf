"""The inspector app: browse a corpus token by token while it is being scored.

Thin on purpose: the session (`inspector/session/browse.py`) holds the state and does the moving,
widgets draw, and a thread worker scores documents (the one on screen first) and posts
them back as messages.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import ProgressBar
from textual.worker import get_current_worker

from inspector import visible
from inspector.labels.queue import Labelling
from inspector.labels.store import Store
from inspector.run.errors import USER_ERRORS
from inspector.session.browse import Session, load_place, save_place
from inspector.tui import notices
from inspector.tui.messages import (
    CorpusSummary,
    DocumentsScored,
    ModelLoaded,
    ScoringDone,
    ScoringFailed,
    ScoringProgress,
)
from inspector.tui.reports import agreement_report, tasks_report
from inspector.tui.screens.help import HelpScreen
from inspector.tui.screens.prompt import PromptScreen
from inspector.tui.screens.report import ReportScreen
from inspector.tui.source import Context, Source
from inspector.tui.widgets.annotation_panel import AnnotationPanel
from inspector.tui.widgets.document_view import DocumentView
from inspector.tui.widgets.footer import ModeFooter
from inspector.tui.widgets.legend import Legend
from inspector.tui.widgets.next_token import NextTokenPanel
from inspector.tui.widgets.status_line import StatusLine
from inspector.tui.widgets.task_panel import TaskPanel
from inspector.tui.widgets.task_table import TaskTable
from taggers.rules import RuleSet

ANNOTATE_ACTIONS = {"label", "accept", "skip", "undo", "note", "back_target"}
BROWSE_KEYS = {"document", "pick_task", "jump", "search", "colour"}  # left out of its footer
KEEP_LOADED = 64  # documents of a table on disk kept in memory besides the one on screen


@dataclass(frozen=True)
class AnnotateOptions:
    """Where labels go, whose they are, and in which order targets come."""

    db: Path
    annotator: str = "anonymous"
    order: str = "text"  # documents scored per round trip; the one on screen always goes first
    corpus_path: str = ""  # where the documents were read from, kept with each label


class InspectorApp(App[None]):
    """Step through a corpus one next-token prediction at a time."""

    TITLE = "inspector"
    CSS = """
    #main { height: 1fr; }
    #text-pane { width: 1fr; }
    #side { width: 38%; min-width: 36; max-width: 60; }  /* follows the terminal, both ways */
    #progress { height: 1; padding: 0 1; }
    #progress Bar { width: 1fr; }
    """
    BINDINGS = [
        # annotation mode first: where a key means something else there, it wins there
        *(
            Binding(
                str(i),
                f"label({i})",
                f"label {i}",  # named after the label when annotation starts
                show=True,
                tooltip=f"annotate: label the target with label {i}",
            )
            for i in range(1, 10)
        ),
        Binding(
            "enter",
            "accept",
            "accept",
            tooltip="annotate: label the target with its heuristic task",
        ),
        Binding("space", "skip", "skip", tooltip="annotate: skip this target"),
        Binding("u", "undo", "undo", tooltip="annotate: undo your last label"),
        Binding(
            "n", "note", "note", tooltip="annotate: add a free-text note to this target's label"
        ),
        Binding(
            "backspace",
            "back_target",
            "back",
            show=False,
            tooltip="annotate: back to the previous target",
        ),
        Binding("a", "annotate", "annotate", tooltip="switch between browsing and annotating"),
        Binding(
            "K",
            "agreement",
            "agreement",
            show=False,
            tooltip="agreement of the heuristics with people, and between people",
        ),
        # the arrows need no footer space: at 80 columns it keeps ? help and q quit instead
        Binding("right,l", "step(1)", "next", show=False, tooltip="next token"),
        Binding("left,h", "step(-1)", "prev", show=False, tooltip="previous token"),
        Binding("w,ctrl+right", "word(1)", "word", show=False, tooltip="next word"),
        Binding("b,ctrl+left", "word(-1)", "word back", show=False, tooltip="previous word"),
        Binding("],down", "document(1)", "doc", tooltip="next document"),
        Binding("[,up", "document(-1)", "doc back", show=False, tooltip="previous document"),
        Binding("home,g", "first", "first", show=False, tooltip="first token of the document"),
        Binding("end,G", "last", "last", show=False, tooltip="last token of the document"),
        Binding(
            "t",
            "pick_task",
            "task",
            tooltip="choose the task f/F jump to: first the one under the cursor, then the others",
        ),
        Binding(
            "f",
            "jump('task', 1)",
            "next task",
            show=False,
            tooltip="next target of the chosen task",
        ),
        Binding(
            "F",
            "jump('task', -1)",
            "prev task",
            show=False,
            tooltip="previous target of the chosen task",
        ),
        Binding(
            "x", "jump('loss', 1)", "high loss", tooltip="next target above the loss threshold"
        ),
        Binding(
            "X",
            "jump('loss', -1)",
            "prev high loss",
            show=False,
            tooltip="previous target above the loss threshold",
        ),
        Binding(
            "plus,equals_sign",
            "threshold(1)",
            "threshold +",
            show=False,
            tooltip="raise the loss threshold by 1 nat",
        ),
        Binding(
            "minus",
            "threshold(-1)",
            "threshold -",
            show=False,
            tooltip="lower the loss threshold by 1 nat",
        ),
        Binding(
            "o",
            "jump('outside', 1)",
            "outside top-k",
            show=False,
            tooltip="next target ranked outside the top-k",
        ),
        Binding(
            "O",
            "jump('outside', -1)",
            "prev outside",
            show=False,
            tooltip="previous target ranked outside the top-k",
        ),
        Binding("slash", "search", "search", tooltip="search the text"),
        Binding(
            "n",
            "search_again(1)",
            "search next",
            show=False,
            tooltip="next match of the last search",
        ),
        Binding(
            "N",
            "search_again(-1)",
            "search prev",
            show=False,
            tooltip="previous match of the last search",
        ),
        Binding(
            "colon",
            "goto",
            "go to",
            show=False,
            tooltip="go to a document (number or id) and position, e.g. 3:40",
        ),
        Binding("c", "colour", "colour", tooltip="colour by loss or by rank bucket (GLTR)"),
        Binding(
            "s",
            "tasks_screen",
            "tasks",
            show=False,
            tooltip="per-task loss, and how it moves with model size across cached models",
        ),
        Binding("question_mark", "help", "help", tooltip="this list of keys"),
        Binding("q", "quit", "quit", tooltip="quit (your place is kept for next time)"),
    ]

    def __init__(
        self,
        source: Source,
        corpus_name: str,
        cache_dir: Path,
        problems: list[str] | None = None,
        annotate: AnnotateOptions | None = None,
    ) -> None:
        """Browse (or with `annotate`, label) the documents of `source`; `problems` are
        inputs that could not be read, reported on screen."""
        from inspector.run.cache import corpus_hash

        super().__init__()
        self.source, self.corpus_name, self.cache_dir = source, corpus_name, cache_dir
        self.problems = problems or []
        self.notices: notices.Notices | None = None  # attached on mount
        self.corpus_summary: Any = None  # a table on disk's per-task table, from the source
        self._pending: set[int] = set()  # documents asked of an on-disk source
        self._viewed: list[int] = []  # most recently viewed documents last, for eviction
        self.annotate_options = annotate or AnnotateOptions(Path("annotations.sqlite"))
        self.mode = "annotate" if annotate is not None else "browse"
        self.labelling: Labelling | None = None
        self.store: Store | None = None
        self.session = Session(source.docs, top_k=source.config.top_k)
        self.corpus_key = corpus_hash(source.docs)
        self.model_label = "loading model"
        self.scoring = "starting"
        self.error = ""
        self.from_cache = False
        self.last_search = ""
        self.pending_pos: tuple[int, int] | None = None  # (doc, pos) to restore once scored

    @property
    def rules(self) -> RuleSet | None:
        return self.source.rules

    # -- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="text-pane"):
                yield Legend(id="legend")
                yield DocumentView(id="doc")
            with Vertical(id="side"):
                yield AnnotationPanel(id="annotation")
                yield NextTokenPanel(id="next")
                yield TaskPanel(id="task")
                yield TaskTable(id="tasks")
        yield ProgressBar(id="progress", total=100, show_eta=False)
        yield StatusLine(id="status")
        yield ModeFooter(compact=True)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Textual's notify, with markup off unless asked for (a message may hold file names,
        field names or a search) and control characters shown as escapes."""
        super().notify(
            visible.text(message), title=visible.line(title), severity=severity,
            timeout=timeout, markup=markup,
        )  # fmt: skip

    def on_mount(self) -> None:
        self.notices = notices.attach(self)  # the library's warnings, as notifications
        place = load_place(self.cache_dir, self.corpus_key)
        if place and self.session.goto(str(place.get("doc_id", ""))):
            self.pending_pos = (self.session.doc, int(place.get("pos", 0)))
        for problem in self.problems:
            self.notify(problem, title="not opened", severity="error", timeout=30, markup=False)
        self.query_one(Legend).show("loss")
        self.query_one(DocumentView).focus()
        self.refresh_view(tables=True)
        self.load()
        self._request_rows()

    # -- drawing ------------------------------------------------------------------------
    def refresh_view(self, tables: bool = False) -> None:
        """Redraw what depends on the cursor; `tables` also recomputes the per-task tables."""
        s = self.session
        row = s.row()
        self.query_one(DocumentView).show(s.document.text, s.current, s.pos)
        note = f"scoring failed: {self.error}" if self.error else f"not scored yet ({self.scoring})"
        self.query_one(NextTokenPanel).show(row, note)
        self.query_one(TaskPanel).show(row)
        if tables:
            everything = self.corpus_summary
            self.query_one(TaskTable).show(
                s.task_summary(document_only=True),
                s.task_summary(document_only=False) if everything is None else everything,
                len(s.rows) if everything is None else len(s.docs),
                len(s.docs),
            )
        self.refresh_annotation()
        self.refresh_status()

    def refresh_annotation(self) -> None:
        panel = self.query_one(AnnotationPanel)
        panel.display = self.mode == "annotate" and self.labelling is not None
        # labelling needs the distribution more than the per-task tables: the next-token
        # panel takes their room, so its candidates show at 80x24
        self.query_one(TaskTable).display = not panel.display
        if panel.display and self.labelling is not None:
            panel.show(
                self.labelling, self.labels, self.annotate_options.db.name, self.session.row()
            )

    def refresh_status(self) -> None:
        s = self.session
        rows = s.current
        # each jump key with the filter it uses: f/F the task, x/X the loss, o/O the rank
        filters = [
            f"f:task={s.task_filter}" if s.task_filter else "f:task=-",
            f"x:loss>{s.loss_threshold:g}",
        ]
        parts = [
            ("", "ANNOTATE" if self.mode == "annotate" else self.corpus_name),
            ("doc", f"{s.doc + 1}/{len(s.docs)} {s.document.id}"),
            # the table's pos (from 0) and the last one: one convention in app, go-to and table
            ("pos", f"{s.pos}/{len(rows) - 1}" if rows is not None else "-"),
            ("jump", " ".join(filters)),
            ("", self.model_label),
        ]
        if self.scoring not in ("done", self.model_label):  # never "loading model" twice
            parts.append(("", self.scoring))
        self.query_one(StatusLine).show(parts)

    # -- the data source, in a worker --------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="scoring")
    def load(self) -> None:
        """Run the source in the background: it posts rows as they are ready."""
        worker = get_current_worker()
        ctx = Context(
            self.post_message, lambda: worker.is_cancelled, lambda: self.session.doc, self.cache_dir
        )
        try:
            self.source.run(ctx)
        except USER_ERRORS as e:
            self.post_message(ScoringFailed(str(e)))

    def _request_rows(self) -> None:
        """Ask an on-disk source for the document on screen and the next two, if not loaded."""
        if not self.source.on_disk:
            return
        doc = self.session.doc
        self._viewed = [d for d in self._viewed if d != doc] + [doc]
        wanted = [
            i
            for i in (doc, doc + 1, doc + 2)
            if i < len(self.session.docs) and i not in self.session.rows and i not in self._pending
        ]
        self._pending.update(wanted)
        self.source.want(wanted)

    def on_corpus_summary(self, message: CorpusSummary) -> None:
        import polars as pl

        self.corpus_summary = message.table.filter(pl.col("task") != "all")
        self.scoring = "done"
        self.query_one(ProgressBar).display = False
        self.refresh_view(tables=True)

    def on_model_loaded(self, message: ModelLoaded) -> None:
        window = f", window {message.window}" if message.window else ""
        how = f" ({message.device}, {message.dtype}{window})" if message.device else ""
        self.model_label = f"{message.name}{how}"
        self.refresh_status()

    def on_scoring_progress(self, message: ScoringProgress) -> None:
        self.scoring = message.text
        self.query_one(ProgressBar).update(progress=100 * message.fraction)
        self.refresh_status()

    def on_documents_scored(self, message: DocumentsScored) -> None:
        added = self.session.add_table(message.rows)
        self._pending.difference_update(message.requested)
        if self.source.on_disk:  # keep memory bounded: forget documents long unseen
            keep = set(self._viewed[-KEEP_LOADED:]) | {self.session.doc, *added}
            for doc in [d for d in self.session.rows if d not in keep]:
                self.session.forget(doc)
        # The tables live as long as the app: keep them out of the garbage collector's scans,
        # whose full passes otherwise stall a keypress now and then (measured: 30-45 ms).
        gc.freeze()
        if self.pending_pos is not None and self.pending_pos[0] in added:
            self.session.goto(*self.pending_pos)
            self.pending_pos = None
        if self.mode == "annotate":
            if self.labelling is None:
                self._start_annotating()
            else:
                self.labelling.rebuild()
        self.scoring = f"scoring {message.fraction:.0%}"
        self.query_one(ProgressBar).update(progress=100 * message.fraction)
        self.refresh_view(tables=True)

    def on_scoring_done(self, message: ScoringDone) -> None:
        self.scoring = "done"
        self.from_cache = message.from_cache
        self.query_one(ProgressBar).display = False
        self.refresh_view(tables=True)

    def on_scoring_failed(self, message: ScoringFailed) -> None:
        self.error = message.error
        self.scoring = "failed"
        self.query_one(ProgressBar).display = False
        self.notify(
            message.error, title="scoring failed", severity="error", timeout=30, markup=False
        )
        self.refresh_view()

    # -- actions ------------------------------------------------------------------------
    def _moved(self, moved: bool, doc_changed: bool = False) -> None:
        if moved:
            self.refresh_view(tables=doc_changed)
            if doc_changed:
                self._request_rows()
                self.save_place()

    def action_step(self, delta: int) -> None:
        self._moved(self.session.step(delta))

    def action_word(self, delta: int) -> None:
        self._moved(self.session.word(delta))

    def action_document(self, delta: int) -> None:
        self._moved(self.session.document_step(delta), doc_changed=True)

    def action_first(self) -> None:
        self._moved(self.session.first())

    def action_last(self) -> None:
        self._moved(self.session.last())

    def action_pick_task(self) -> None:
        tasks = self.session.tasks()
        if not tasks:
            self.notify("nothing is scored yet", severity="warning")
            return
        current = self.session.task_filter
        options = [*tasks, None]
        if current in options:  # cycle on: every task, then none
            self.session.task_filter = options[(options.index(current) + 1) % len(options)]
        else:  # the first press picks the task of the target under the cursor
            row = self.session.row()
            self.session.task_filter = row["task"] if row and row["task"] in tasks else tasks[0]
        self.notify(
            f"f / F jump to: {self.session.task_filter or 'no task'}", timeout=2, markup=False
        )
        self.refresh_status()

    def action_jump(self, kind: str, direction: int) -> None:
        if kind == "task" and not self.session.task_filter:
            self.notify("press t to choose a task first", severity="warning")
            return
        doc = self.session.doc
        if not self.session.next_match(kind, direction):
            self.notify("no more matches in the scored documents", timeout=2)
            return
        self._moved(True, doc_changed=self.session.doc != doc)

    def action_threshold(self, delta: int) -> None:
        self.session.loss_threshold = max(0.0, self.session.loss_threshold + delta)
        self.refresh_status()

    def action_search(self) -> None:
        self.push_screen(
            PromptScreen("search the text", "words to find", self.last_search), self._searched
        )

    def _searched(self, query: str | None) -> None:
        if query:
            self.last_search = query
            self.action_search_again(1)

    def action_search_again(self, direction: int) -> None:
        if not self.last_search:
            self.action_search()
            return
        doc = self.session.doc
        if self.session.search(self.last_search, direction):
            self._moved(True, doc_changed=self.session.doc != doc)
            self.refresh_view(tables=self.session.doc != doc)
        else:
            self.notify(f"not found: {self.last_search!r}", severity="warning", markup=False)

    def action_goto(self) -> None:
        self.push_screen(
            PromptScreen(
                "go to: document number (from 1) or id, then :pos (the table's, from 0)", "3:40"
            ),
            self._went,
        )

    def _went(self, answer: str | None) -> None:
        if not answer:
            return
        where, _, pos = answer.strip().partition(":")
        doc = self.session.doc
        target = self.session.find_document(where) if where else doc
        if target is None:
            self.notify(f"no document {where!r}", severity="warning", markup=False)
            return
        self.session.goto(target, int(pos) if pos.strip().isdigit() else 0)
        self._moved(True, doc_changed=self.session.doc != doc)

    def action_colour(self) -> None:
        view = self.query_one(DocumentView)
        mode = "rank" if view.mode == "loss" else "loss"
        view.set_mode(mode)
        self.query_one(Legend).show(mode)

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
        after its label (labels depend on the rules, known once annotation starts)."""
        for i, label in enumerate(self.labels, 1):
            key = str(i)
            self._bindings.key_to_bindings[key] = [
                Binding(key, f"label({i})", label, tooltip=f"annotate: label the target {label}")
            ]

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
        if self.mode == "annotate":
            self.mode = "browse"
        else:
            self.mode = "annotate"
            if self.labelling is None and self.session.rows:
                self._start_annotating()
            elif self.labelling is not None:
                self.labelling.to_next_unlabelled()
        self.refresh_bindings()
        self.refresh_view()

    def _start_annotating(self) -> None:

        opts = self.annotate_options
        try:
            self.store = Store(opts.db)
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
            self.notify(f"no label {number}: labels are 1-{len(self.labels)}", severity="warning")
            return
        self._labelled(lambda lab: lab.act(self.labels[number - 1]))

    def action_accept(self) -> None:
        self._labelled(lambda lab: lab.accept())

    def action_skip(self) -> None:
        self._labelled(lambda lab: lab.act(None))

    def action_undo(self) -> None:
        def undo(lab: Labelling) -> None:
            if not lab.undo():
                self.notify("nothing to undo", timeout=2)

        self._labelled(undo)

    def action_back_target(self) -> None:
        self._labelled(lambda lab: lab.back())

    def action_note(self) -> None:
        self.push_screen(PromptScreen("note for this target", "why this label"), self._noted)

    def _noted(self, text: str | None) -> None:
        if text:
            self._labelled(
                lambda lab: self.notify(f"note {lab.note(text)}", timeout=2, markup=False)
            )

    def action_agreement(self) -> None:
        db, corpus = self.annotate_options.db, self.corpus_key
        self.push_screen(
            ReportScreen(f"agreement ({db.name})", partial(agreement_report, db, corpus))
        )

    def action_tasks_screen(self) -> None:
        from taggers.rules import load_rules

        rules_hash = (self.rules or load_rules()).sha256
        report = partial(tasks_report, self.cache_dir, self.corpus_key, rules_hash)
        self.push_screen(ReportScreen("loss by task, across model sizes", report))

    def action_help(self) -> None:
        bindings = [b for b in self.BINDINGS if isinstance(b, Binding)]
        self.push_screen(HelpScreen(bindings, self.labels))

    async def action_quit(self) -> None:
        self.save_place()
        self.exit()

    @on(DocumentView.TokenClicked)
    def on_token_clicked(self, message: DocumentView.TokenClicked) -> None:
        self._moved(self.session.goto(self.session.doc, message.pos))

    def save_place(self) -> None:
        try:
            save_place(self.cache_dir, self.corpus_key, self.session.place())
        except (OSError, *USER_ERRORS) as e:
            self.notify(f"could not save your place: {e}", severity="warning", markup=False)

    def on_unmount(self) -> None:
        if self.notices is not None:
            notices.detach(self.notices)
        self.save_place()
        if self.store is not None:
            self.store.close()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's commands, then one per key binding: its name and key as the title, what
        it does as the help line (the palette shows both, so they must differ)."""
        yield from super().get_system_commands(screen)
        for b in self.BINDINGS:
            if isinstance(b, Binding) and b.action != "quit":  # Textual's Quit runs ours
                yield SystemCommand(
                    f"{b.description} ({b.key.split(',')[0]})",
                    b.tooltip or b.description,
                    partial(self.run_action, b.action),
                )
