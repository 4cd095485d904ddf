"""The cache of runs: keys, settings, stored scores and tags, and what a request found before.

Scores are kept as Parquet under `<cache>/tables/<key>.parquet`, keyed by a hash of the
corpus content, the model's identity and every setting that changes numbers; task tags are
kept beside them under `<cache>/tags/`, keyed by the same plus the rule file and the spaCy
pipeline, so editing the rules re-tags in a second without re-scoring. The same request is
never computed twice; a damaged cache file is reported and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from corpora import Document
from inspector import __version__
from inspector.errors import ExportError, message, os_reason
from inspector.files import atomic_path, ensure_dir
from inspector.lm.config import ScoreConfig
from inspector.lm.loading import LoadedModel
from inspector.lm.scorer import Scorer
from inspector.tables.run import Run
from inspector.tables.schema import (
    SCORE_SCHEMA,
    SETTINGS_KEY,
    TAG_SCHEMA,
    TableError,
    read_table,
    write_table,
)  # fmt: skip
from taggers.rules import RuleSet, load_rules
from taggers.tagger import TaskTagger

log = logging.getLogger("inspector")
TABLE_FORMAT = 3  # bump when the table's columns or their meaning change (3: byte pieces as <0xE6>)
# Settings that name things rather than change numbers: not part of any cache key.
NAME_KEYS = ("model", "model_spec", "documents", "inspector_version", "tokens", "tagger_rules")
TAG_KEYS = ("tagger_rules_hash", "spacy_model", "spacy_components")


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


def load_request(cache_dir: Path, key: str) -> Run | None:
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
    return Run.of_table(
        scores.hstack(tags), tag_settings, str(tag_settings.get("model_spec") or "the cache"),
        from_cache=True, seconds=time.perf_counter() - started, cache_file=Path(files["scores"]),
    )  # fmt: skip


def cached_runs(cache_dir: Path, corpus: str, rules_hash: str, whole: bool = False) -> list[Run]:
    """Every run of this corpus (and rule set) that the cache holds, smallest model first,
    with the columns a per-task table needs (`whole`: every column, for comparing runs
    token by token): what the app compares across model sizes.
    Several runs of one model (another dtype, window, k) are all returned, never one picked
    silently; a comparison names what differs between them."""
    found: dict[str, Run] = {}
    for alias in sorted((cache_dir / "requests").glob("*.json")):
        try:
            files = json.loads(alias.read_text())
            settings = json.loads(pl.read_parquet_metadata(files["tags"]).get(SETTINGS_KEY, "{}"))
            if (
                settings.get("corpus_hash") != corpus
                or settings.get("tagger_rules_hash") != rules_hash
            ):
                continue
            key = cache_key(settings)  # the same settings: the same numbers, counted once
            if key in found:
                continue
            scores = pl.read_parquet(
                files["scores"],
                columns=None
                if whole
                else ["doc_id", "pos", "token", "token_id", "nll", "rank", "entropy"],
            )  # the token: its bytes; the word's span: its words (tables/tasks.py)
            tags = pl.read_parquet(
                files["tags"], columns=None if whole else ["task", "word", "word_start", "word_end"]
            )
        except (OSError, ValueError, KeyError, TypeError, pl.exceptions.PolarsError):
            continue  # a stale alias: skipped, the others still count
        if scores.height == tags.height:
            found[key] = Run.of_table(scores.hstack(tags), settings, "the cache", from_cache=True,
                                      cache_file=Path(files["scores"]))  # fmt: skip
    return sorted(
        found.values(),
        key=lambda run: (
            run.settings.get("n_params") or 0, str(run.settings.get("model")),
            str(run.settings.get("dtype")), run.settings.get("window") or 0,
        ),
    )  # fmt: skip


class CacheWrites:
    """The cache writes of one run: a failed one (a full disk) is one warning, and the run
    goes on without the cache (it was scored; only the next run pays), the rest skipped."""

    def __init__(self, cache_dir: Path, warn: Callable[[str], None]) -> None:
        self.cache_dir, self.warn, self.failed = cache_dir, warn, False

    def __call__(self, write: Callable[[], object]) -> bool:
        """Run `write` unless an earlier write failed; whether it was done."""
        if self.failed:
            return False
        try:
            write()
        except Exception as e:  # write_table's ExportError or a plain OSError, of the OS's reason
            cause = e.__cause__ if isinstance(e, ExportError) and e.__cause__ else e
            reason = os_reason(cause)
            if reason is None:
                raise
            self.failed = True
            self.warn(message("cache_write_failed", folder=self.cache_dir, reason=reason))
            return False
        return True


def _remember_request(cache_dir: Path, key: str, score_file: Path, tag_file: Path) -> None:
    alias = ensure_dir(cache_dir / "requests") / f"{key}.json"
    with atomic_path(alias) as tmp:
        tmp.write_text(json.dumps({"scores": str(score_file), "tags": str(tag_file)}))


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
    warn: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Cache a table scored piece by piece (by the app) as `score_corpus` would have; returns
    its settings. `table` must hold every document's rows, in corpus order. A write that
    fails is a warning (`warn`, by default the `inspector` logger): the table is not lost."""
    settings = run_settings(lm, Scorer(lm, config), TaskTagger(rules or load_rules()), docs)
    settings["tokens"] = table.height
    score_file, tag_file = _cache_files(settings, cache_dir)
    cache = CacheWrites(cache_dir, warn or log.warning)
    cache(lambda: write_table(table.select(list(SCORE_SCHEMA)), score_file, settings, force=True))
    cache(lambda: write_table(table.select(list(TAG_SCHEMA)), tag_file, settings, force=True))
    if request is not None:
        cache(lambda: _remember_request(cache_dir, request, score_file, tag_file))
    return settings


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
