"""A request as the user typed it (corpus, model, device, dtype, settings, rules): found in
the cache without loading the model where it was answered before, else scored. The one
way the CLI and the app get a run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from corpora import Document
from inspector.lm.config import ScoreConfig
from inspector.run.cache import load_request, request_key
from inspector.tables.run import Run
from taggers.rules import RuleSet


def find_cached(
    docs: Sequence[Document],
    model: str,
    device: str,
    dtype: str,
    config: ScoreConfig,
    rules: RuleSet,
    cache_dir: Path,
) -> tuple[Run | None, str]:
    """The cached run of this request (None if there is none) and the request's key, known
    without torch: a repeated request costs a file read."""
    from inspector.lm.sources import resolve_model

    key = request_key(resolve_model(model, cache_dir).identity, device, dtype, config, rules, docs)
    return load_request(cache_dir, key), key


def score_or_load(
    docs: Sequence[Document],
    model: str,
    device: str,
    dtype: str,
    config: ScoreConfig,
    rules: RuleSet,
    cache_dir: Path,
    use_cache: bool = True,
    tag_workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Run:
    """The run of `model` over `docs`: from the cache where this exact request was answered
    before, else scored (and cached, unless `use_cache` is False)."""
    from inspector.lm.loading import load_model
    from inspector.run.score import score_corpus

    key = None  # without the cache, nothing is read or remembered
    if use_cache:
        found, key = find_cached(docs, model, device, dtype, config, rules, cache_dir)
        if found is not None:
            return found
    lm = load_model(model, cache_dir, device, dtype)
    return score_corpus(
        docs, lm, config, cache_dir if use_cache else None, progress=progress, rules=rules,
        request=key, tag_workers=tag_workers,
    )  # fmt: skip
