"""Corpus + model + settings + rules -> token table, through caches keyed by all of them.

Scores are kept as Parquet under `<cache>/tables/<key>.parquet`, keyed by a hash of the
corpus content, the model's identity and every setting that changes numbers; task tags are
kept beside them under `<cache>/tags/`, keyed by the same plus the rule file and the spaCy
pipeline, so editing the rules re-tags in a second without re-scoring. The same request is
never computed twice; a damaged cache file is reported and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from corpora import Document
from inspector import __version__
from inspector.files import ensure_dir
from inspector.lm.loading import LoadedModel
from inspector.lm.scoring import ScoreConfig, Scorer, Tokenized
from inspector.tables.schema import (
    SCORE_SCHEMA,
    SETTINGS_KEY,
    TAG_SCHEMA,
    TableError,
    read_table,
    write_table,
)
from taggers.rules import RuleSet, load_rules
from taggers.tagger import TaskTagger

TABLE_FORMAT = 2  # bump when the table's columns or their meaning change
# Settings that name things rather than change numbers: not part of any cache key.
NAME_KEYS = ("model", "model_spec", "documents", "inspector_version", "tokens", "tagger_rules")
TAG_KEYS = ("tagger_rules_hash", "spacy_model", "spacy_components")


@dataclass
class ScoredCorpus:
    """A token table with the settings it was made with, and how it was obtained."""

    table: pl.DataFrame
    settings: dict[str, Any]
    from_cache: bool  # both scores and tags came from the cache
    seconds: float
    cache_file: Path | None  # the scores' cache file
    timings: dict[str, float] = field(default_factory=dict)  # seconds scoring and tagging


def corpus_hash(docs: Sequence[Document]) -> str:
    """sha256 over document ids and contents, in order."""
    h = hashlib.sha256()
    for d in docs:
        h.update(f"{len(d.id)}:{d.id}:{d.content_hash}\n".encode())
    return h.hexdigest()


def run_settings(
    lm: LoadedModel, scorer: Scorer, tagger: TaskTagger, docs: Sequence[Document]
) -> dict[str, Any]:
    """Everything a table's numbers and tags depend on, written with every table and export."""
    cfg = scorer.config
    return {
        "inspector_version": __version__,
        "table_format": TABLE_FORMAT,
        "model": lm.source.name,
        "model_spec": lm.source.spec,
        "model_kind": lm.source.kind,
        "model_identity": lm.source.identity,
        "n_params": lm.n_params,
        "device": lm.device.type,
        "dtype": str(lm.dtype).removeprefix("torch."),
        "prefix_token": lm.prefix_token,
        "prefix_token_id": lm.prefix_id,
        "prefix_kind": lm.prefix_kind,
        "context_length": lm.context_length,
        "window": cfg.window,
        "stride": cfg.stride,
        "top_k": cfg.top_k,
        "corpus_hash": corpus_hash(docs),
        "documents": len(docs),
        **tagger.settings,
    }


def cache_key(settings: dict[str, Any], exclude: Sequence[str] = ()) -> str:
    """A hash of the settings that change numbers (not the readable names, not `exclude`)."""
    keyed = {k: v for k, v in settings.items() if k not in NAME_KEYS and k not in exclude}
    return hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()[:32]


def request_key(
    model_identity: str,
    device: str,
    dtype: str,
    config: ScoreConfig,
    rules: RuleSet,
    docs: Sequence[Document],
) -> str:
    """A key for a request as the user typed it (devices unresolved), known without torch.

    It lets a repeated request find its cached table without importing torch or loading the
    model, which is what makes a second start of the app instant.
    """
    return cache_key(
        {
            "table_format": TABLE_FORMAT,
            "model_identity": model_identity,
            "device_requested": device,
            "dtype_requested": dtype,
            "window": config.window,
            "stride": config.stride,
            "top_k": config.top_k,
            "tagger_rules_hash": rules.sha256,
            "corpus_hash": corpus_hash(docs),
        }
    )


def load_request(cache_dir: Path, key: str) -> ScoredCorpus | None:
    """The table a request made before, if its cache files are still there and sound."""
    alias = cache_dir / "requests" / f"{key}.json"
    if not alias.is_file():
        return None
    started = time.perf_counter()
    try:
        files = json.loads(alias.read_text())
        scores, settings = read_table(Path(files["scores"]), SCORE_SCHEMA)
        tags, tag_settings = read_table(Path(files["tags"]), TAG_SCHEMA)
    except (OSError, ValueError, KeyError, TypeError, TableError):
        return None  # a stale or damaged alias only costs a normal run, which rewrites it
    if tags.height != scores.height or tag_settings.get("corpus_hash") != settings.get(
        "corpus_hash"
    ):
        return None
    return ScoredCorpus(
        scores.hstack(tags),
        tag_settings,
        True,
        time.perf_counter() - started,
        Path(files["scores"]),
    )


def cached_runs(
    cache_dir: Path, corpus: str, rules_hash: str
) -> list[tuple[dict[str, Any], pl.DataFrame]]:
    """Every run's tagged table of this corpus (and rule set) that the cache holds, smallest
    model first: what the app compares across model sizes. Several runs of one model (another
    dtype, window, k) are all returned, never one picked silently; a comparison names what
    differs between them."""
    found: dict[str, tuple[dict[str, Any], pl.DataFrame]] = {}
    for alias in sorted((cache_dir / "requests").glob("*.json")):
        try:
            files = json.loads(alias.read_text())
            settings = json.loads(pl.read_parquet_metadata(files["tags"]).get(SETTINGS_KEY, "{}"))
            if (
                settings.get("corpus_hash") != corpus
                or settings.get("tagger_rules_hash") != rules_hash
            ):
                continue
            run = cache_key(settings)  # the same settings: the same numbers, counted once
            if run in found:
                continue
            scores = pl.read_parquet(files["scores"], columns=["doc_id", "nll", "rank", "entropy"])
            tags = pl.read_parquet(files["tags"], columns=["task"])
        except (OSError, ValueError, KeyError, TypeError, pl.exceptions.PolarsError):
            continue  # a stale alias: skipped, the others still count
        if scores.height == tags.height:
            found[run] = (settings, scores.hstack(tags))
    return sorted(
        found.values(),
        key=lambda item: (
            item[0].get("n_params") or 0, str(item[0].get("model")), str(item[0].get("dtype")),
            -(item[0].get("window") or 0),
        ),
    )  # fmt: skip


def _remember_request(cache_dir: Path, key: str, score_file: Path, tag_file: Path) -> None:
    from inspector.files import atomic_path

    alias = ensure_dir(cache_dir / "requests") / f"{key}.json"
    with atomic_path(alias) as tmp:
        tmp.write_text(json.dumps({"scores": str(score_file), "tags": str(tag_file)}))


def score_corpus(
    docs: Sequence[Document],
    lm: LoadedModel,
    config: ScoreConfig | None = None,
    cache_dir: Path | None = None,
    progress: bool | Callable[[int, int], None] = False,
    warn: Callable[[str], None] | None = None,
    rules: RuleSet | None = None,
    request: str | None = None,
    tag_workers: int = 1,
) -> ScoredCorpus:
    """The tagged token table of `docs`, from the cache where it holds this exact request.

    `progress` is True for a progress bar on stderr, or a callback(done, total) in tokens.
    `warn` receives one-line notices (a damaged cache file being rebuilt). `request`, a
    `request_key`, is remembered so the same request is found later without the model.
    `tag_workers` processes tag large inputs with spaCy.
    """
    warn = warn or (lambda text: print(f"inspector: {text}", file=sys.stderr))
    started = time.perf_counter()
    scorer = Scorer(lm, config)
    tagger = TaskTagger(rules or load_rules())
    settings = run_settings(lm, scorer, tagger, docs)
    score_file, tag_file = (
        _cache_files(settings, cache_dir) if cache_dir is not None else (None, None)
    )
    timings = {"score_s": 0.0, "tag_s": 0.0}

    scores = _read_cached(score_file, SCORE_SCHEMA, settings, TAG_KEYS, warn)
    scores_cached = scores is not None
    if scores is None:
        t0 = time.perf_counter()
        tokenized = scorer.tokenize([d.text for d in docs])
        with _Progress(progress, sum(len(t.ids) for t in tokenized)) as step:
            raw = scorer.score_tokenized(tokenized, step)
        scores = scorer.to_table(docs, tokenized, raw)
        timings["score_s"] = time.perf_counter() - t0
        if score_file is not None:
            write_table(scores, score_file, {**settings, "tokens": scores.height}, force=True)
    settings["tokens"] = scores.height

    tags = _read_cached(tag_file, TAG_SCHEMA, settings, (), warn, rows=scores.height)
    tags_cached = tags is not None
    if tags is None:
        t0 = time.perf_counter()
        tags = tag_table(tagger, docs, scores, tag_workers)
        timings["tag_s"] = time.perf_counter() - t0
        if tag_file is not None:
            write_table(tags, tag_file, settings, force=True)

    table = scores.hstack(tags)
    if cache_dir is not None and request is not None and score_file and tag_file:
        _remember_request(cache_dir, request, score_file, tag_file)
    seconds = time.perf_counter() - started
    return ScoredCorpus(
        table, settings, scores_cached and tags_cached, seconds, score_file, timings
    )


def _cache_files(settings: dict[str, Any], cache_dir: Path) -> tuple[Path, Path]:
    """Where the scores and the tags of a request are kept."""
    return (
        ensure_dir(cache_dir / "tables") / f"{cache_key(settings, TAG_KEYS)}.parquet",
        ensure_dir(cache_dir / "tags") / f"{cache_key(settings)}.parquet",
    )


def store_corpus(
    docs: Sequence[Document],
    lm: LoadedModel,
    table: pl.DataFrame,
    config: ScoreConfig | None,
    cache_dir: Path,
    rules: RuleSet | None = None,
    request: str | None = None,
) -> dict[str, Any]:
    """Cache a table scored piece by piece (by the app) as `score_corpus` would have; returns
    its settings. `table` must hold every document's rows, in corpus order."""
    settings = run_settings(lm, Scorer(lm, config), TaskTagger(rules or load_rules()), docs)
    settings["tokens"] = table.height
    score_file, tag_file = _cache_files(settings, cache_dir)
    write_table(table.select(list(SCORE_SCHEMA)), score_file, settings, force=True)
    write_table(table.select(list(TAG_SCHEMA)), tag_file, settings, force=True)
    if request is not None:
        _remember_request(cache_dir, request, score_file, tag_file)
    return settings


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
    scorer = Scorer(lm, config)
    tagger = TaskTagger(rules)
    settings = run_settings(lm, scorer, tagger, docs)
    scores = scorer.score(docs, progress)
    settings["tokens"] = scores.height
    return settings, scores, tag_table_later(tagger, docs, scores, tag_workers)


SLICE_MARGIN = 2000  # at most this much text beyond a slice's edges is given to spaCy
SLICE_CONTEXT = 300  # and, where a line break allows, at least this much


def score_slice_untagged(
    doc: Document,
    scorer: Scorer,
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


def _read_cached(
    path: Path | None,
    schema: dict[str, Any],
    settings: dict[str, Any],
    ignore: Sequence[str],
    warn: Callable[[str], None],
    rows: int | None = None,
) -> pl.DataFrame | None:
    if path is None or not path.exists():
        return None
    try:
        table, stored = read_table(path, schema)
    except TableError as e:
        warn(f"cache file {path} is damaged ({e}); computing it again and replacing it")
        return None
    mismatched = [
        k
        for k, v in settings.items()
        if k not in NAME_KEYS and k not in ignore and stored.get(k) != v
    ]
    expected_rows = rows if rows is not None else stored.get("tokens")
    if mismatched or table.height != expected_rows:
        reason = ", ".join(mismatched) or "row count"
        warn(
            f"cache file {path} does not match this run ({reason}); computing it again and replacing it"
        )
        return None
    return table


PROGRESS_EVERY = 30.0  # seconds between progress lines when stderr is not a terminal


class ProgressLines:
    """Progress as a line now and then (at most every `every` seconds), for a log or a
    terminal-less run: a long document otherwise scores for minutes without a word."""

    def __init__(self, say: Callable[[str], None], every: float | None = None) -> None:
        self.say, self.every = say, PROGRESS_EVERY if every is None else every
        self.started = self.last = time.perf_counter()

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.perf_counter()
        if now - self.last < self.every:
            return
        self.last = now
        rate = done / max(1e-9, now - self.started)
        text = f"scoring: {done:,} tokens"
        if total:
            left = (total - done) / max(rate, 1e-9)
            text += f" of {total:,} ({done / total:.0%}), about {_duration(left)} left"
        self.say(f"{text}, {rate:,.0f} tokens/s")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


class _Progress:
    """A tqdm bar over tokens on stderr (when stderr is a terminal; else a line every 30 s),
    or a callback."""

    def __init__(self, how: bool | Callable[[int, int], None], total: int) -> None:
        self.how, self.total, self.done = how, total, 0
        self.bar: Any = None
        self.lines: ProgressLines | None = None

    def __enter__(self) -> Callable[[int], None]:
        if self.how is True and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.total, unit="tok", unit_scale=True, desc="scoring",
                leave=False, file=sys.stderr,
            )  # fmt: skip
        elif self.how is True:
            self.lines = ProgressLines(lambda text: print(f"inspector: {text}", file=sys.stderr))
        return self.step

    def step(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.lines is not None:
            self.lines(self.done, self.total)
        elif callable(self.how):
            self.how(self.done, self.total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
