"""Where the app's rows come from, as one object: documents to score (the cache first), a
table in memory, or a table on disk read one document at a time.

A source runs in the app's worker thread and talks to the app only by posting messages
(`messages.py`): the model it loaded, rows as they are ready, progress, done or failed.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpora import Document
from inspector.lm.config import ScoreConfig
from inspector.session.browse import split_rows
from inspector.tui.messages import (
    CorpusSummary,
    DocumentsScored,
    ModelLoaded,
    ScoringDone,
    ScoringProgress,
)  # fmt: skip

if TYPE_CHECKING:
    import polars as pl
    from textual.message import Message

    from taggers.rules import RuleSet

CHUNK_CHARS = 6000  # text scored per round trip; the document on screen always goes first


@dataclass
class Context:
    """What a source needs from the app while it runs."""

    post: Callable[[Message], object]  # send a message to the app (thread-safe)
    cancelled: Callable[[], bool]  # the app is closing
    here: Callable[[], int]  # the document on screen
    cache_dir: Path


@dataclass
class Source:
    docs: list[Document]
    config: ScoreConfig = field(default_factory=ScoreConfig)
    rules: RuleSet | None = None  # None: the shipped rules
    on_disk = False  # rows are read on request (`want`), and forgotten when long unseen

    def run(self, ctx: Context) -> None:
        raise NotImplementedError

    def want(self, docs: list[int]) -> None:
        """Ask for the rows of these documents (sources that read on request)."""


@dataclass
class Given(Source):
    """A token table of these documents, shown as it is."""

    table: Any = None

    def run(self, ctx: Context) -> None:
        ctx.post(ModelLoaded("given table", "", ""))
        ctx.post(DocumentsScored(split_rows(self.table), 1.0))
        ctx.post(ScoringDone({}, True))


@dataclass
class Scoring(Source):
    """The documents scored by a model: from the cache without loading it where this
    request was answered before, else scored the document on screen first, in chunks shown
    as they are done, then stored in the cache."""

    model_spec: str = ""  # "" for the embedded model
    device: str = "auto"
    dtype: str = "auto"
    compare_with: tuple[str, ...] = ()  # more models: scored (or read from the cache) after
    loaded: Any = None  # the model, once this source has loaded it (the app asks it questions)

    def model(self, cache_dir: Path) -> Any:
        """The model, loaded now if scoring did not need it (the run came from the cache)."""
        from inspector.lm.loading import load_model

        if self.loaded is None:
            self.loaded = load_model(self.model_spec, cache_dir, self.device, self.dtype)
        return self.loaded

    def run(self, ctx: Context) -> None:
        run = self._run(ctx)
        if self.compare_with and run is not None and not ctx.cancelled():
            self._compare(ctx, run)

    def _compare(self, ctx: Context, first: Any) -> None:
        """The other models' runs, from the cache or scored, compared with this one."""
        from inspector.run.errors import USER_ERRORS
        from inspector.run.request import score_or_load
        from inspector.session.compare import CompareView
        from inspector.tables.changes import compare_runs
        from inspector.tui.messages import ComparisonFailed, ComparisonReady
        from taggers.rules import load_rules

        rules, runs = self.rules or load_rules(), [first]
        try:
            for k, spec in enumerate(self.compare_with, 2):
                what = f"run {k} of {len(self.compare_with) + 1} to compare ({spec})"
                ctx.post(ScoringProgress(what, 0.0))

                def progress(done: int, total: int, what: str = what) -> None:
                    ctx.post(
                        ScoringProgress(f"{what} {done / max(total, 1):.0%}", done / max(total, 1))
                    )

                runs.append(
                    score_or_load(
                        self.docs,
                        spec,
                        self.device,
                        self.dtype,
                        self.config,
                        rules,
                        ctx.cache_dir,
                        progress=progress,
                    )  # fmt: skip
                )
            ctx.post(ScoringProgress("comparing the runs", 1.0))
            view = CompareView(compare_runs(runs), [d.id for d in self.docs])
            ctx.post(ComparisonReady(view))
        except USER_ERRORS as e:
            ctx.post(ComparisonFailed(str(e)))

    def _run(self, ctx: Context) -> Any:
        """This model's run: from the cache, or scored and shown as it goes; None if the
        app closed first."""
        import polars as pl

        from inspector.lm.loading import load_model
        from inspector.run.cache import store_corpus
        from inspector.run.request import find_cached
        from inspector.run.score import score_corpus
        from taggers.rules import load_rules

        rules, docs = self.rules or load_rules(), self.docs
        cached, key = find_cached(
            docs, self.model_spec, self.device, self.dtype, self.config, rules, ctx.cache_dir
        )
        if cached is not None:
            s = cached.settings
            ctx.post(ModelLoaded(s["model"], s["device"], s["dtype"], s.get("window")))
            ctx.post(DocumentsScored(split_rows(cached.table), 1.0))
            ctx.post(ScoringDone(s, True))
            return cached
        ctx.post(ScoringProgress("loading model", 0.0))
        lm = self.loaded = load_model(self.model_spec, ctx.cache_dir, self.device, self.dtype)
        window = self.config.resolved(lm.context_length, lm.device.type).window
        dtype = str(lm.dtype).removeprefix("torch.")
        ctx.post(ModelLoaded(lm.source.name, lm.device.type, dtype, window))
        total = sum(len(d.text) for d in docs) or 1
        done_chars, parts, left = 0, {}, set(range(len(docs)))
        while left:
            if ctx.cancelled():
                return None
            chunk = next_chunk(docs, left, ctx.here())
            if len(chunk) == 1 and len(docs[chunk[0]].text) > CHUNK_CHARS:
                i = chunk[0]
                parts[i] = self._score_long(ctx, docs[i], lm, rules, done_chars, total)
                left.discard(i)
                done_chars += len(docs[i].text)
                continue
            result = score_corpus([docs[i] for i in chunk], lm, self.config, rules=rules)
            for i in chunk:
                parts[i] = result.table.filter(pl.col("doc_id") == docs[i].id)
                left.discard(i)
            done_chars += sum(len(docs[i].text) for i in chunk)
            ctx.post(DocumentsScored(split_rows(result.table), done_chars / total))
        full = pl.concat([parts[i] for i in range(len(docs))])
        settings = store_corpus(docs, lm, full, self.config, ctx.cache_dir, rules, key)
        ctx.post(ScoringDone(settings, False))
        from inspector.tables.run import Run

        return Run.of_table(full, settings, self.model_spec or "the embedded model")

    def _score_long(
        self, ctx: Context, doc: Document, lm: Any, rules: RuleSet, done_chars: int, total: int
    ) -> Any:
        """Score one long document in slices of about `CHUNK_CHARS` characters, each shown
        as it is done (the part scored can be read and stepped through meanwhile); then tag
        the whole document once, so its tags are those of any other run of the request."""
        import polars as pl

        from inspector.run.score import parses_folder, score_slice_untagged, tag_table
        from inspector.run.tokens import TableScorer
        from inspector.tables.schema import SCORE_SCHEMA
        from taggers.tagger import TaskTagger

        tagger = TaskTagger(rules, parses=parses_folder(ctx.cache_dir))
        scorer = TableScorer(lm, self.config)
        tokenized = scorer.tokenize([doc.text])[0]
        pieces: list[pl.DataFrame] = []
        shown = 0  # rows last sent to the screen
        for a, b in scorer.slices(tokenized, CHUNK_CHARS):
            if ctx.cancelled():
                break
            scores, tags = score_slice_untagged(doc, scorer, tokenized, (a, b), tagger)
            pieces.append(scores.hstack(tags()))
            # each message carries everything scored so far: send one when that has grown by
            # half, so a very long document costs a few copies of its rows, not one per slice
            if b >= 1.5 * shown:
                shown = b
                end = int(tokenized.offsets[b - 1, 1])
                rows = split_rows(pl.concat(pieces))
                ctx.post(DocumentsScored(rows, (done_chars + end) / total))
        if ctx.cancelled() or not pieces:
            return pl.concat(pieces) if pieces else None
        scores = pl.concat(pieces).select(list(SCORE_SCHEMA))
        table = scores.hstack(tag_table(tagger, [doc], scores))
        ctx.post(DocumentsScored(split_rows(table), (done_chars + len(doc.text)) / total))
        return table


def next_chunk(docs: list[Document], left: set[int], start: int) -> list[int]:
    """The unscored document nearest after `start` (the one on screen), and those after it."""
    n = len(docs)
    chunk: list[int] = []
    chars = 0
    for i in ((start + k) % n for k in range(n)):
        if i in left:
            if chunk and chars + len(docs[i].text) > CHUNK_CHARS:
                break
            chunk.append(i)
            chars += len(docs[i].text)
    return chunk


@dataclass
class OnDisk(Source):
    """A scored table on disk (a file, or a folder or glob of Parquet parts): first its
    per-task summary, streamed; then the rows of the documents asked for, read lazily."""

    path: str = ""
    on_disk = True
    requests: queue.Queue[int] = field(default_factory=queue.Queue)

    def want(self, docs: list[int]) -> None:
        for i in docs:
            self.requests.put(i)

    def run(self, ctx: Context) -> None:
        import polars as pl

        from inspector.run.stored import open_table
        from inspector.tables.tasks import summarize

        run = open_table(self.path)
        st = run.settings
        ctx.post(ModelLoaded(run.label, str(st.get("device", "?")), str(st.get("dtype", "?")), st.get("window")))  # fmt: skip
        ctx.post(CorpusSummary(summarize(run.frame, "task")))
        where = parts_of_documents(run.files)
        while not ctx.cancelled():
            try:
                wanted = [self.requests.get(timeout=0.2)]
            except queue.Empty:
                continue
            while not self.requests.empty():
                wanted.append(self.requests.get_nowait())
            ids = [self.docs[i].id for i in dict.fromkeys(wanted)]
            sources = {file for i in ids for file in where.get(i, [])}
            frame = pl.scan_parquet(sorted(sources)) if where else run.frame
            table = (
                frame.filter(pl.col("doc_id").is_in(ids)).collect()
                if (sources or not where)
                else None
            )
            rows = split_rows(table) if table is not None else []
            ctx.post(DocumentsScored(rows, 1.0, requested=wanted))


def parts_of_documents(files: tuple[Path, ...]) -> dict[str, list[Path]]:
    """Which Parquet parts hold which document (several for one longer than a part)."""
    import polars as pl

    where: dict[str, list[Path]] = {}
    for file in files:
        for doc_id in pl.scan_parquet(file).select(pl.col("doc_id").unique()).collect()["doc_id"]:
            where.setdefault(doc_id, []).append(file)
    return where
