"""The inspector app: browse a corpus token by token while it is being scored.

Thin on purpose: the session (`inspector/session/browse.py`) holds the state and does the moving,
widgets draw, and a thread worker scores documents (the one on screen first) and posts
them back as messages.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import ProgressBar
from textual.worker import get_current_worker

from corpora import Document
from inspector import visible
from inspector.labels.queue import Labelling
from inspector.labels.store import Store
from inspector.run.errors import USER_ERRORS
from inspector.session.browse import Session, load_place, save_place
from inspector.tui import notices
from inspector.tui.annotating import AnnotateOptions, AnnotatingApp
from inspector.tui.comparing import ComparingApp
from inspector.tui.explaining import ExplainingApp
from inspector.tui.keys import BINDINGS
from inspector.tui.messages import (
    CorpusSummary,
    DocumentsScored,
    ModelLoaded,
    ScoringDone,
    ScoringFailed,
    ScoringProgress,
)
from inspector.tui.orphans import end_with_server
from inspector.tui.source import Context, Source
from inspector.tui.widgets.annotation_panel import AnnotationPanel
from inspector.tui.widgets.change_table import ChangeTable
from inspector.tui.widgets.compare_panel import ComparePanel
from inspector.tui.widgets.context_panel import ContextPanel
from inspector.tui.widgets.document_view import DocumentView
from inspector.tui.widgets.footer import ModeFooter
from inspector.tui.widgets.legend import Legend
from inspector.tui.widgets.next_token import NextTokenPanel
from inspector.tui.widgets.probe_note import ProbeNote
from inspector.tui.widgets.status_line import StatusLine
from inspector.tui.widgets.task_panel import TaskPanel
from inspector.tui.widgets.task_table import TaskTable
from taggers.rules import RuleSet

KEEP_LOADED = 64  # documents of a table on disk kept in memory besides the one on screen


class InspectorApp(ComparingApp, ExplainingApp, AnnotatingApp):
    """Step through a corpus one next-token prediction at a time."""

    TITLE = "inspector"
    CSS = """
    #main { height: 1fr; }
    #text-pane { width: 1fr; }
    #side { width: 38%; min-width: 36; max-width: 60; }  /* follows the terminal, both ways */
    #progress { height: 1; padding: 0 1; }
    #progress Bar { width: 1fr; }
    /* notices above the status line and the footer, never over them; one line of padding
       less, and wide enough on an 80-column screen that a path is not broken mid-word */
    ToastRack { margin-bottom: 2; }
    Toast { width: auto; max-width: 95%; padding: 0 1; margin-top: 0; }
    """
    BINDINGS = BINDINGS

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

        visible.spacing_marks_take_a_cell()  # laid out as the terminal will draw it
        super().__init__()
        self.source, self.corpus_name, self.cache_dir = source, corpus_name, cache_dir
        self.problems = problems or []
        self.notices: notices.Notices | None = None  # attached on mount
        self.corpus_summary: Any = None  # a table on disk's per-task table, from the source
        self._pending: set[int] = set()  # documents asked of an on-disk source
        self._viewed: list[int] = []  # most recently viewed documents last, for eviction
        self.annotate_options = annotate or AnnotateOptions()  # labels in the default place
        self.mode = "annotate" if annotate is not None else "browse"
        self.labelling: Labelling | None = None
        self.browse_place: tuple[int, int] | None = None  # (doc, pos) `a` returns to
        self._drawn_doc: int | None = None  # the document the view was last drawn for
        self.store: Store | None = None
        self.session = Session(source.docs, top_k=source.config.top_k)
        self.corpus_key = corpus_hash(source.docs)
        self.model_label = "loading model"
        self.model_forms: tuple[str, ...] = (self.model_label,)  # the status line's, long to short
        self.scoring = "starting"
        self.error = ""
        self.from_cache = False
        self.last_search = ""
        self.pending_pos: tuple[int, int] | None = None  # (doc, pos) to restore once scored
        self.written: list[Document] = []  # texts typed in the app (m), saved with M

    @property
    def rules(self) -> RuleSet | None:
        return self.source.rules

    # -- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="text-pane"):
                yield Legend(id="legend")
                yield ProbeNote(id="probe")
                yield ContextPanel(id="context")
                yield DocumentView(id="doc")
            with Vertical(id="side"):
                yield AnnotationPanel(id="annotation")
                yield NextTokenPanel(id="next")
                yield ComparePanel(id="compare")
                yield TaskPanel(id="task")
                yield TaskTable(id="tasks")
                yield ChangeTable(id="changes")
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
        """Textual's notify, never as markup (a message may hold file names, field names or a
        search; `markup` is taken, as Textual's signature has it, and ignored) and with
        control characters shown as escapes."""
        room = int(self.size.width * 0.95) - 3  # the toast's text (app CSS: Toast)
        message = visible.break_long_words(visible.text(message), room)  # a path, whole names
        super().notify(message, markup=False,
                       title=visible.line(title), severity=severity, timeout=timeout)  # fmt: skip

    def on_mount(self) -> None:
        self.notices = notices.attach(self)  # the library's warnings, as notifications
        end_with_server(self)  # in a browser tab of `inspector serve`: not past the server
        place = load_place(self.cache_dir, self.corpus_key)
        doc = self.session.index.get(str(place.get("doc_id", ""))) if place else None
        if place and doc is not None:  # the first document too, where goto moves nowhere
            self.session.goto(doc)
            pos = place.get("pos")
            self.pending_pos = (doc, pos if isinstance(pos, int) else 0)
        for problem in self.problems:
            self.notify(problem, title="not opened", severity="error", timeout=30, markup=False)
        self.query_one(Legend).show("loss")
        self.query_one(ComparePanel).display = self.query_one(ChangeTable).display = False
        self.compare_pending = bool(getattr(self.source, "compare_with", ()))
        self.query_one(DocumentView).focus()
        self.refresh_view(tables=True)
        self.load()
        self._request_rows()
        if self.mode == "annotate" and not self.annotate_options.annotator:
            self.ask_annotator()

    # -- drawing ------------------------------------------------------------------------
    def refresh_view(self, tables: bool = False) -> None:
        """Redraw what depends on the cursor; `tables` also recomputes the per-task tables."""
        s = self.session
        row = s.row()
        if s.doc != self._drawn_doc:  # another document (say, `a`'s move): its tables and
            tables, self._drawn_doc = True, s.doc  # probe line, whoever moved
        if self.context_at is not None and self.context_at != (s.doc, s.pos):
            self.context_off()  # the colours were of another target's context
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
        self.refresh_compare(tables)
        if tables:
            self.note_probe()
        self.refresh_annotation()
        self.refresh_status()

    def refresh_status(self) -> None:
        s = self.session
        rows = s.current
        # each jump key with the filter it uses: f/F the task, x/X the loss, o/O the rank
        filters = [
            f"f:task={s.task_filter}" if s.task_filter else "f:task=-",
            f"x:loss>{s.loss_threshold:g}",
        ]
        if self.comparing and self.compare_view is not None:
            view = self.compare_view
            trend = f" e:trend={view.trend_filter or '-'}" if view.trends else ""
            filters = [f"i/r:change{trend}", *filters]
        # shorter jump filters, then no corpus name, before the model's name is cut
        short_filters = [f.replace("f:task=", "f:").replace("x:loss>", "x>") for f in filters]
        parts: list[tuple[str, str | tuple[str, ...]]] = [
            ("", "ANNOTATE" if self.mode == "annotate" else (*[self.corpus_name] * 4, "")),
            # the document's id goes only once the model is down to its name: a long id
            # (a URL, a path) must not push the model off the line
            (
                "doc",
                (*[f"{s.doc + 1}/{len(s.docs)} {s.document.id}"] * 3, f"{s.doc + 1}/{len(s.docs)}"),
            ),
            # the table's pos (from 0) and the last one: one convention in app, go-to and table
            ("pos", f"{s.pos}/{len(rows) - 1}" if rows is not None else "-"),
            ("jump", (*[" ".join(filters)] * 3, " ".join(short_filters))),
            ("", self.model_forms if not self.comparing else self._compared()),
        ]
        if self.scoring not in ("done", self.model_label):  # never "loading model" twice
            parts.append(("", self.scoring))
        self.query_one(StatusLine).show(parts)

    def _compared(self) -> str | tuple[str, ...]:
        """The runs compared, in the forms the status line tries, longest first."""
        view = self.compare_view
        if view is None:
            return ""
        names, unit = view.names, f"{view.unit}s"
        return (  # whole until the shorter filters and no corpus name leave it room no more
            *[f"compare {' → '.join(names)} ({unit})"] * 5,
            f"compare {names[0]} → {names[-1]}, {len(names)} runs ({unit})",
            f"compare {len(names)} runs ({unit})",
        )

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
        # shorter forms for a narrow status line: the name without what it was loaded from
        # (`(Q4_1 GGUF, embedded)`) and `w2048`, then the name alone
        name = re.sub(r" \([^()]*\)$", "", message.name)
        settings = [message.device, message.dtype, *([f"w{message.window}"] * bool(message.window))]
        brief = f" ({', '.join(settings)})" if message.device else ""
        self.model_forms = (self.model_label, f"{name}{brief}", name)
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
        if self.scoring != "done":  # a table on disk sends documents on request, after
            self.scoring = f"scoring {message.fraction:.0%}"
            self.query_one(ProgressBar).update(progress=100 * message.fraction)
        self.refresh_view(tables=True)

    def on_scoring_done(self, message: ScoringDone) -> None:
        self.run_settings = message.settings  # which run is browsed (compare mode names it)
        self.scoring = "done"
        self.from_cache = message.from_cache
        self.query_one(ProgressBar).display = False
        self.refresh_view(tables=True)

    def on_scoring_failed(self, message: ScoringFailed) -> None:
        self.error = message.error
        self.scoring = "failed"
        self.query_one(ProgressBar).display = False
        self.notify(message.error, markup=False, title="scoring failed", severity="error",
                    timeout=30)  # fmt: skip
        self.refresh_view()

    async def action_quit(self) -> None:
        self.save_place()
        self.exit()

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
