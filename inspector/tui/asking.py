"""Asking the model from the app: candidates at the cursor (`p`), the open document's probe
(`P`), your own text scored on the spot (`m`, saved with `M`), every document at a glance
(`v`) and a task's worst targets in context (`z`, or Enter on a task in the `s` screen).
The model is loaded on first use when the run came from the cache; answers are computed off
the event loop."""

from __future__ import annotations

import functools
import math
import threading
from functools import partial
from pathlib import Path
from typing import Any

from textual import work

from corpora import Document
from inspector.run.errors import USER_ERRORS
from inspector.session.texts import SaveError, save_texts  # the M key's writer
from inspector.tui.browsing import BrowsingApp
from inspector.tui.messages import DocumentsScored, ScoringFailed
from inspector.tui.screens.examples import ExamplesScreen
from inspector.tui.screens.overview import OverviewScreen, overview
from inspector.tui.screens.prompt import PromptScreen
from inspector.tui.screens.report import Note, Report, ReportScreen, Table
from inspector.tui.screens.write import WriteScreen

_LOADING = threading.Lock()
NO_MODEL = (
    "asking needs the model, and a table opened with --from has none: open the corpus with --model"
)


def candidates_of(answer: str, lead: str) -> list[str]:
    """The candidates typed at the prompt: separated by `|`; each takes the leading space of
    the target at the cursor (`lead`), unless written in double quotes (then as written)."""
    out = []
    for part in answer.split("|"):
        part = part.strip()
        if len(part) >= 2 and part[0] == part[-1] == '"':
            out.append(part[1:-1])
        elif part:
            out.append(lead + part)
    return out


class AskingApp(BrowsingApp):
    """Browsing, plus questions to the model and views across documents."""

    source: Any
    written: list[Document]
    _asker: Any = None
    _probes: dict[str, Any] | None = None

    @functools.cached_property
    def _verdicts(self) -> dict[str, str]:
        """Probe id: the model's verdict on it, once answered (shown above the probe's text)."""
        return {}

    def asker(self) -> Any:
        """The model's question answerer, loading the model the first time (in a worker)."""
        from inspector.lm.continuations import Asker

        with _LOADING:  # the read-ahead and a question may both ask first: one load
            if self._asker is None:
                if not hasattr(self.source, "model"):
                    raise _NoModel(NO_MODEL)
                self._asker = Asker(self.source.model(self.cache_dir))
        return self._asker

    # -- contrast at the cursor ---------------------------------------------------------
    def _no_model(self) -> bool:
        """Whether there is no model to ask (a table opened with --from): said at the key,
        before a question is typed."""
        if hasattr(self.source, "model"):
            return False
        self.notify(NO_MODEL, severity="warning", markup=False)
        return True

    def action_contrast(self) -> None:
        if self._no_model():
            return
        row = self.session.row()
        if row is None:
            self.notify("nothing is scored here yet", severity="warning", markup=False)
            return
        text = self.session.document.text
        true = text[row["char_start"] : row["char_end"]]
        lead = true[: len(true) - len(true.lstrip())]
        question = f"instead of {true!r}: other continuations? (a | b)"
        self._read_ahead(text[: row["char_start"]])  # while the question is typed
        self.push_screen(
            PromptScreen(question, 'Baku | London | "exactly this"'),
            partial(self._asked, text[: row["char_start"]], true, lead),
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="read-ahead")
    def _read_ahead(self, prefix: str) -> None:
        """Read the text up to the cursor while the question is typed, so the answer only
        has the candidates left to read (`bench --ask`: warm)."""
        try:
            self.asker().read(prefix)
        except (_NoModel, *USER_ERRORS):
            return  # said when the question is asked

    def _asked(self, prefix: str, true: str, lead: str, answer: str | None) -> None:
        candidates = candidates_of(answer or "", lead)
        if not candidates:
            if answer is not None:
                self.notify("no candidates given: type words separated by |", markup=False)
            return
        title = f"after …{prefix[-40:]!r}"
        asked = partial(self._contrast, prefix, true, candidates)
        self.push_screen(ReportScreen(title, asked, self._waiting()))

    def _contrast(self, prefix: str, true: str, candidates: list[str]) -> Report:
        import polars as pl

        try:
            asker = self.asker()
        except _NoModel as e:
            return Report([Note(str(e))])
        from inspector.tables.render import cell, scientific

        answers = asker.ask(prefix, [true, *candidates])
        sci = scientific(a.prob for a in answers)  # each piece in the p column's format, as probe
        table = pl.DataFrame(
            {
                "continuation": [repr(a.text) for a in answers],
                "": ["the text's" if i == 0 else "" for i in range(len(answers))],
                "p": [a.prob for a in answers],
                "nll": [a.nll for a in answers],
                "rank": [a.rank for a in answers],
                "pieces (p each)": [
                    " · ".join(
                        f"{p!r} {cell(math.exp(lp), 'p', sci)}"
                        for p, lp in zip(a.pieces, a.piece_logprobs, strict=True)
                    )  # fmt: skip
                    for a in answers
                ],
            }
        )
        note = (f"{asker.lm.source.name}: each continuation's probability after the text up to the "
                "cursor, chained over its pieces")  # fmt: skip
        return Report([Note(note), Table("continuations, the text's own first", table)])

    # -- probes -------------------------------------------------------------------------
    def probe_here(self) -> Any:
        """The probe of the bundled suite whose document is open, if any."""
        if self._probes is None:
            from corpora import bundled_path
            from corpora.probes import read_probes

            self._probes = {p.id: p for p in read_probes(bundled_path() / "probes.jsonl")}
        return self._probes.get(self.session.document.id)

    def note_probe(self) -> None:
        """On a probe's document: its note above the text, and its verdict once the model
        (in memory already, or once asked with P) has answered it."""
        from inspector.tui.widgets.probe_note import ProbeNote

        probe = self.probe_here()
        line = self.query_one(ProbeNote)
        if probe is None:
            line.show(None)
            return
        line.show(probe.task, probe.note, self._verdicts.get(probe.id, ""))
        loaded = self._asker is not None or getattr(self.source, "loaded", None) is not None
        if loaded and probe.id not in self._verdicts:
            self._probe_verdict(probe)

    @work(thread=True, exclusive=True, exit_on_error=False, group="probe-verdict")
    def _probe_verdict(self, probe: Any) -> None:
        from inspector.run.probes import probe_results

        try:
            asker = self.asker()
            r = probe_results(asker, asker.lm.source.name, [probe]).row(0, named=True)
        except (_NoModel, *USER_ERRORS):
            return
        self._verdict(probe, r)

    def _verdict(self, probe: Any, r: dict[str, Any]) -> None:
        """Keep a probe's verdict (`probe_results`' row) and show it, from a worker."""
        verdict = "won" if r["won"] else "lost"
        self._verdicts[probe.id] = (
            f"{r['expected']!r} {r['expected_nll']:.2f} nats against {r['best_foil']!r} "
            f"{r['best_foil_nll']:.2f}: {verdict} by {abs(r['margin']):.2f}"
        )
        self.call_from_thread(self.note_probe)

    def action_run_probe(self) -> None:
        probe = self.probe_here()
        if probe is None:
            self.notify("this document is not a probe", severity="warning", markup=False)
            return
        if self._no_model():
            return
        probed = partial(self._probe, probe)
        self.push_screen(ReportScreen(f"probe {probe.id}", probed, self._waiting()))

    def _loads_first(self) -> bool:
        """Whether the next question loads the model first (a few seconds)."""
        return self._asker is None and getattr(self.source, "loaded", None) is None

    def _waiting(self) -> str:
        """What the screen that waits for an answer says meanwhile: the model's first load
        is named there, not in a notice over the screen."""
        if self._loads_first():
            return "loading the model for the first question (a few seconds), then computing…"
        return "computing…"

    def _probe(self, probe: Any) -> Report:
        from inspector.run.probes import probe_results

        try:
            asker = self.asker()
        except _NoModel as e:
            return Report([Note(str(e))])
        result = probe_results(asker, asker.lm.source.name, [probe]).row(0, named=True)
        self._verdict(probe, result)
        verdict = "won" if result["won"] else "lost"
        answers = asker.ask(probe.prefix, [probe.expected, *probe.foils])
        import polars as pl

        table = pl.DataFrame({
            "continuation": [repr(a.text) for a in answers],
            "": ["expected" if i == 0 else "foil" for i in range(len(answers))],
            "nll": [a.nll for a in answers], "p": [a.prob for a in answers],
            "rank": [a.rank for a in answers],
        })  # fmt: skip
        head = (f"{probe.note}\n{probe.prefix!r} → the expected continuation {verdict}, by "
                f"{result['margin']:+.2f} nats over the best foil ({asker.lm.source.name})")  # fmt: skip
        return Report([Note(head), Table(f"{probe.task}: expected against foils", table)])

    # -- your own text --------------------------------------------------------------------
    def action_write(self) -> None:
        if self._no_model():
            return
        self.push_screen(WriteScreen(), self._written)

    def _written(self, text: str | None) -> None:
        if not text:
            return
        doc = Document(f"your text {len(self.written) + 1}", text, source="typed in the app")
        self.notify("scoring your text…", timeout=3, markup=False)
        self._score_text(doc)

    @work(thread=True, exit_on_error=False, group="writing")
    def _score_text(self, doc: Document) -> None:
        from inspector.run.score import score_corpus
        from inspector.session.browse import split_rows

        try:
            lm = self.source.model(self.cache_dir)
            table = score_corpus([doc], lm, self.source.config, rules=self.rules).table
        except USER_ERRORS as e:
            self.post_message(ScoringFailed(str(e)))
            return
        self.call_from_thread(self._open_written, doc, split_rows(table))

    def _open_written(self, doc: Document, rows: Any) -> None:
        index = self.session.add_document(doc)
        self.written.append(doc)
        self.post_message(DocumentsScored(rows, 1.0))
        self.session.goto(index, 0)
        self._moved(True, doc_changed=True)

    def action_save_written(self) -> None:
        if not self.written:
            self.notify("no text of yours yet: m writes one", severity="warning", markup=False)
            return
        self.push_screen(
            PromptScreen(
                "save your texts to (JSONL; added at its end, nothing replaced)",
                value="my-texts.jsonl",
            ),  # fmt: skip
            self._save_written,
        )

    def _save_written(self, answer: str | None) -> None:
        if not answer:
            return
        try:
            saved = save_texts(Path(answer).expanduser(), self.written)
        except SaveError as e:
            self.notify(str(e), severity="error", markup=False)
            return
        self.notify(markup=False, message=f"{saved} new text(s) added to {answer}" if saved
                    else f"your texts are already in {answer}")  # fmt: skip

    # -- across documents ---------------------------------------------------------------
    def action_overview(self) -> None:
        tables = self.session.scored_tables()
        if not tables:
            self.notify("nothing is scored yet", severity="warning", markup=False)
            return
        left = len(self.session.docs) - len(self.session.rows)
        note = f"{left} document(s) not scored yet, not listed · " if left else ""
        self.push_screen(OverviewScreen(overview(tables), note), self._opened)

    def _opened(self, doc_id: str | None) -> None:
        if doc_id is not None:
            before = self.session.doc
            self.session.goto(doc_id, 0)
            self._moved(True, doc_changed=self.session.doc != before)
            self._scroll_later()

    def action_examples(self, task: str | None = None) -> None:
        import polars as pl

        from inspector.tables.examples import examples

        row = self.session.row()
        task = task or self.session.task_filter or (row["task"] if row else None)
        tables = self.session.scored_tables()
        if task is None or not tables:
            self.notify("nothing is scored yet", severity="warning", markup=False)
            return
        texts = {d.id: d.text for d in self.session.docs}
        table = examples(pl.concat(tables).lazy(), [task], top=100, texts=texts)
        self.push_screen(ExamplesScreen(f"{task}: highest-loss targets", table), self._went_to)

    def _went_to(self, where: tuple[str, int] | None) -> None:
        if where is not None:
            before = self.session.doc
            self.session.goto(*where)
            self._moved(True, doc_changed=self.session.doc != before)
            self._scroll_later()

    def _scroll_later(self) -> None:
        """Bring the target on screen once the screen that chose it is gone (while it
        covered the text, the text's height was not known)."""
        from inspector.tui.widgets.document_view import DocumentView

        self.call_after_refresh(self.query_one(DocumentView).scroll_to_selected)


class _NoModel(Exception):
    """The app has no model to ask (a table opened from disk)."""
