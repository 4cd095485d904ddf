"""Scoring and tagging a corpus: the model's scores, then spaCy's tags, as one token table;
through the cache (`run/cache.py`) when one is given. Progress and warnings go to callbacks
(the CLI prints them, the app shows them): nothing here prints."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from corpora import Document
from inspector.lm.batching import Tokenized
from inspector.lm.config import ScoreConfig
from inspector.lm.loading import LoadedModel
from inspector.run.cache import (
    TAG_KEYS,
    CacheWrites,
    _cache_files,
    _read_cached,
    _remember_request,
    run_settings,
)  # fmt: skip
from inspector.run.tokens import TableScorer
from inspector.tables.run import Run
from inspector.tables.schema import SCORE_SCHEMA, TAG_SCHEMA, write_table
from taggers.rules import RuleSet, load_rules
from taggers.tagger import TaskTagger

log = logging.getLogger("inspector")


def parses_folder(cache_dir: Path | None) -> Path | None:
    """Where the spaCy parses of texts are kept in a cache (`taggers/parses.py`)."""
    return None if cache_dir is None else cache_dir / "parses"


def score_corpus(
    docs: Sequence[Document],
    lm: LoadedModel,
    config: ScoreConfig | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    warn: Callable[[str], None] | None = None,
    rules: RuleSet | None = None,
    request: str | None = None,
    tag_workers: int = 1,
    keep_parses: bool = True,
    parse_ahead: bool | None = None,
) -> Run:
    """The run of `lm` over `docs`, from the cache where it holds this exact request.

    `progress` gets (tokens done, tokens in all) as batches finish. `warn` receives one-line
    notices (a damaged cache file being rebuilt; by default the `inspector` logger). `request`, a
    `request_key`, is remembered so the same request is found later without the model.
    `tag_workers` processes tag large inputs with spaCy. `keep_parses`: each text's spaCy
    parse read from and kept in the cache (`taggers/parses.py`; off only to measure it).
    `parse_ahead`: texts not parsed yet are parsed in workers while the model scores, so
    `timings["tag_s"]` (what tagging adds after scoring) is mostly reading; by default
    (None) where that takes no core from the scoring (`spare_cores`).
    """
    warn = warn or log.warning
    started = time.perf_counter()
    scorer = TableScorer(lm, config)
    # each text's parse kept beside the runs: one parse for every model of the corpus
    tagger = TaskTagger(
        rules or load_rules(), parses=parses_folder(cache_dir) if keep_parses else None
    )
    settings = run_settings(lm, scorer, tagger, docs)
    score_file, tag_file = (
        _cache_files(settings, cache_dir) if cache_dir is not None else (None, None)
    )
    timings = {"score_s": 0.0, "tag_s": 0.0, "parsed_ahead": 0.0}
    cache = CacheWrites(cache_dir or Path(), warn)  # a failed write: one warning, the run goes on
    ahead = _ahead(tagger, lm, docs, tag_file, tag_workers, parse_ahead)

    scores = _read_cached(score_file, SCORE_SCHEMA, settings, TAG_KEYS, warn)
    scores_cached = scores is not None
    if scores is None:
        t0 = time.perf_counter()
        scores = done = _fresh_scores(scorer, docs, progress)
        timings["score_s"] = time.perf_counter() - t0
        if score_file is not None:
            meta = {**settings, "tokens": done.height}
            cache(lambda: write_table(done, score_file, meta, force=True))
    settings["tokens"] = scores.height

    tags = _read_cached(tag_file, TAG_SCHEMA, settings, (), warn, rows=scores.height)
    tags_cached = tags is not None
    if tags is None:
        t0 = time.perf_counter()
        timings["parsed_ahead"] = float(ahead())
        tags = tag_table(tagger, docs, scores, tag_workers)
        timings["tag_s"] = time.perf_counter() - t0
        if tag_file is not None:
            cache(lambda: write_table(tags, tag_file, settings, force=True))
    else:
        ahead()

    table = scores.hstack(tags)
    if cache_dir is not None and request is not None and score_file and tag_file:
        cache(lambda: _remember_request(cache_dir, request, score_file, tag_file))
    seconds = time.perf_counter() - started
    return Run.of_table(
        table, settings, lm.source.spec or lm.source.name, from_cache=scores_cached and tags_cached,
        seconds=seconds, cache_file=score_file, timings=timings,
    )  # fmt: skip


def _ahead(
    tagger: TaskTagger, lm: LoadedModel, docs: Sequence[Document], tag_file: Path | None,
    workers: int, wanted: bool | None,
) -> Callable[[], int]:  # fmt: skip
    """The parse of the texts started beside the scoring, where the tags must be computed
    (the parse needs no model); a wait for it."""
    parsing = not (tag_file is not None and tag_file.is_file()) and (
        spare_cores(lm, workers) if wanted is None else wanted
    )
    return tagger.parse_ahead([d.text for d in docs], workers * parsing)


def spare_cores(lm: LoadedModel, workers: int) -> bool:
    """Whether `workers` parsing processes beside the scoring leave its cores alone: the
    model runs on an accelerator (the host's cores are free), or the CPU has a core for each
    worker beyond torch's threads. On a CPU that scoring fills, a parse beside it slows the
    scoring by as much as it saves (`inspector bench --parses` measures both)."""
    import os

    import torch

    if lm.device.type != "cpu":
        return True
    return torch.get_num_threads() + max(1, workers) <= (os.cpu_count() or 1)


def _fresh_scores(
    scorer: TableScorer, docs: Sequence[Document], progress: Callable[[int, int], None] | None
) -> pl.DataFrame:
    tokenized = scorer.tokenize([d.text for d in docs])
    raw = scorer.score_tokenized(tokenized, _stepper(progress, sum(len(t.ids) for t in tokenized)))
    return scorer.to_table(docs, tokenized, raw)


def _stepper(
    progress: Callable[[int, int], None] | None, total: int
) -> Callable[[int], None] | None:
    """The scorer's per-batch token counts as (done, total) calls to `progress`."""
    if progress is None:
        return None
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        progress(done, total)

    return step


def tag_table(
    tagger: TaskTagger, docs: Sequence[Document], scores: pl.DataFrame, workers: int = 1
) -> pl.DataFrame:
    """The tag columns for a scores table whose rows are in document order; `workers`
    processes tag large inputs (`TaskTagger.tag`)."""
    return tag_table_later(tagger, docs, scores, workers)()


def score_untagged(
    docs: Sequence[Document],
    lm: LoadedModel,
    config: ScoreConfig | None,
    rules: RuleSet,
    tag_workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, Any], pl.DataFrame, Callable[[], pl.DataFrame]]:
    """`score_corpus` without a cache, in two steps: the settings and the scores now, and a
    call that returns the tags, which `tag_workers` processes compute meanwhile. `progress`
    gets the number of tokens of each batch written out."""
    scorer = TableScorer(lm, config)
    tagger = TaskTagger(rules)
    settings = run_settings(lm, scorer, tagger, docs)
    scores = scorer.score(docs, progress)
    settings["tokens"] = scores.height
    return settings, scores, tag_table_later(tagger, docs, scores, tag_workers)


SLICE_MARGIN = 2000  # at most this much text beyond a slice's edges is given to spaCy
SLICE_CONTEXT = 300  # and, where a line break allows, at least this much


def score_slice_untagged(
    doc: Document,
    scorer: TableScorer,
    tokenized: Tokenized,
    span: tuple[int, int],
    tagger: TaskTagger,
    tag_workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> tuple[pl.DataFrame, Callable[[], pl.DataFrame]]:
    """`score_untagged` for targets [a, b) of one long document (a range from
    `Scorer.slices`): the scores now, and a call that returns their tags.

    spaCy reads only the slice's text, widened at each end to a line break (`_edge`), so
    neither the model nor spaCy ever holds more than a slice and its margins: memory is
    bounded by the slice, not the document. spaCy's analysis of a word depends on a few
    words around it, which the margins supply: on text with line breaks the tags are those
    of tagging the whole document (tested on paragraphs); on text without any (a 2 MB
    blob), a word that straddles a margin's edge is seen cut.
    """
    a, b = span
    piece = Tokenized(tokenized.ids[a:b], tokenized.offsets[a:b])
    raw = scorer.score_tokenized([tokenized], progress, span)
    scores = scorer.to_table([doc], [piece], raw, first=a)
    start = _edge(doc.text, int(piece.offsets[0, 0]), -1)
    end = _edge(doc.text, int(piece.offsets[-1, 1]), +1)
    spans = scores.select(pl.col("char_start") - start, pl.col("char_end") - start).to_numpy()
    collect = tagger.submit([doc.text[start:end]], [spans], tag_workers)

    def tags() -> pl.DataFrame:
        table = pl.DataFrame(collect(), schema=TAG_SCHEMA)
        return table.with_columns(pl.col("word_start") + start, pl.col("word_end") + start)

    return scores, tags


def _edge(text: str, at: int, direction: int) -> int:
    """Where a slice's text for spaCy starts (direction -1) or ends (+1) near `at`: a line
    break at least `SLICE_CONTEXT` characters away (so spaCy sees the slice's edge with the
    context it would have in the whole document), else a nearer one, else a space, all
    within `SLICE_MARGIN`; else `at` itself."""
    lo, hi = max(0, at - SLICE_MARGIN), min(len(text), at + SLICE_MARGIN)
    for sep, away in (("\n", SLICE_CONTEXT), ("\n", 0), (" ", SLICE_CONTEXT), (" ", 0)):
        if direction < 0:
            i = text.rfind(sep, lo, max(lo, at - away))
            if i >= 0:
                return i + 1
        else:
            i = text.find(sep, min(hi, at + away), hi)
            if i >= 0:
                return i
    if direction < 0:
        return 0 if lo == 0 else at
    return len(text) if hi == len(text) else at


def tag_table_later(
    tagger: TaskTagger, docs: Sequence[Document], scores: pl.DataFrame, workers: int = 1
) -> Callable[[], pl.DataFrame]:
    """`tag_table`, started now (`TaskTagger.submit`), collected by calling the result."""
    counts = dict(scores.group_by("doc_id", maintain_order=True).len().iter_rows())
    spans = scores.select("char_start", "char_end").to_numpy()
    per_doc, texts, at = [], [], 0
    for d in docs:
        n = counts.get(d.id, 0)
        if n:
            texts.append(d.text)
            per_doc.append(spans[at : at + n])
            at += n
    if not texts:
        return lambda: pl.DataFrame({c: [] for c in TAG_SCHEMA}, schema=TAG_SCHEMA)
    collect = tagger.submit(texts, per_doc, workers)
    return lambda: pl.DataFrame(collect(), schema=TAG_SCHEMA)
