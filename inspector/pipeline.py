"""Corpus + model + settings -> token table, through a cache keyed by all three.

A scored table is kept as Parquet under `<cache>/tables/<key>.parquet`, the key being a
hash of the corpus content, the model's identity and every setting that changes numbers.
The same request is never scored twice; a damaged cache file is reported and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from corpora import Document
from inspector import __version__
from inspector.cachedir import ensure_dir
from inspector.lm.loading import LoadedModel
from inspector.lm.scoring import ScoreConfig, Scorer
from inspector.table import TableError, read_table, write_table

TABLE_FORMAT = 1  # bump when the table's columns or their meaning change
# Settings that name things rather than change numbers: not part of the cache key.
NAME_KEYS = ("model", "model_spec", "documents", "inspector_version", "tokens")


@dataclass
class ScoredCorpus:
    """A token table with the settings it was made with, and how it was obtained."""

    table: pl.DataFrame
    settings: dict[str, Any]
    from_cache: bool
    seconds: float
    cache_file: Path | None


def corpus_hash(docs: Sequence[Document]) -> str:
    """sha256 over document ids and contents, in order."""
    h = hashlib.sha256()
    for d in docs:
        h.update(f"{len(d.id)}:{d.id}:{d.content_hash}\n".encode())
    return h.hexdigest()


def run_settings(lm: LoadedModel, scorer: Scorer, docs: Sequence[Document]) -> dict[str, Any]:
    """Everything a table's numbers depend on, written with every table and export."""
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
        "tagger_rules_hash": None,
    }


def cache_key(settings: dict[str, Any]) -> str:
    """The cache key: the settings that change numbers (not the readable names)."""
    keyed = {k: v for k, v in settings.items() if k not in NAME_KEYS}
    return hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()[:32]


def score_corpus(
    docs: Sequence[Document],
    lm: LoadedModel,
    config: ScoreConfig | None = None,
    cache_dir: Path | None = None,
    progress: bool | Callable[[int, int], None] = False,
    warn: Callable[[str], None] | None = None,
) -> ScoredCorpus:
    """The token table of `docs`, from the cache when it holds this exact request.

    `progress` is True for a progress bar on stderr, or a callback(done, total) in tokens.
    `warn` receives one-line notices (a damaged cache file being rebuilt).
    """
    warn = warn or (lambda text: print(f"inspector: {text}", file=sys.stderr))
    started = time.perf_counter()
    scorer = Scorer(lm, config)
    settings = run_settings(lm, scorer, docs)
    cache_file = None
    if cache_dir is not None:
        cache_file = ensure_dir(cache_dir / "tables") / f"{cache_key(settings)}.parquet"
        cached = _read_cached(cache_file, settings, warn)
        if cached is not None:
            return ScoredCorpus(cached, settings, True, time.perf_counter() - started, cache_file)

    tokenized = scorer.tokenize([d.text for d in docs])
    total = sum(len(t.ids) for t in tokenized)
    settings["tokens"] = total
    with _progress(progress, total) as step:
        raw = scorer.score_tokenized(tokenized, step)
    table = scorer.to_table(docs, tokenized, raw)
    if cache_file is not None:
        write_table(table, cache_file, settings, force=True)
    return ScoredCorpus(table, settings, False, time.perf_counter() - started, cache_file)


def _read_cached(
    path: Path, settings: dict[str, Any], warn: Callable[[str], None]
) -> pl.DataFrame | None:
    if not path.exists():
        return None
    try:
        table, stored = read_table(path)
    except TableError as e:
        warn(f"cache file {path} is damaged ({e}); scoring again and replacing it")
        return None
    mismatched = [k for k, v in settings.items() if k not in NAME_KEYS and stored.get(k) != v]
    if mismatched or stored.get("tokens") != table.height:
        warn(
            f"cache file {path} does not match this run ({', '.join(mismatched) or 'row count'}); scoring again and replacing it"
        )
        return None
    settings["tokens"] = stored["tokens"]
    return table


class _progress:
    """A tqdm bar over tokens on stderr (hidden when stderr is not a terminal), or a callback."""

    def __init__(self, how: bool | Callable[[int, int], None], total: int) -> None:
        self.how, self.total, self.done, self.bar = how, total, 0, None

    def __enter__(self) -> Callable[[int], None]:
        if self.how is True:
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.total,
                unit="tok",
                unit_scale=True,
                desc="scoring",
                disable=None,
                leave=False,
                file=sys.stderr,
            )
        return self.step

    def step(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif callable(self.how):
            self.how(self.done, self.total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
