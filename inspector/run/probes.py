"""Probes asked of a model: each candidate continuation's probability, rank and surprisal
(`lm/continuations.py`), and for probe suites (`corpora/probes.py`) whether the expected
continuation beats every foil, by how many nats, and the share of probes won per task."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from corpora.probes import Probe
    from inspector.lm.continuations import Asker

CANDIDATE_COLUMNS = (
    "model", "prefix", "candidate", "pieces", "prob", "nll", "rank", "piece_probs",
    "context_tokens", "prefix_cut",
)  # fmt: skip


def candidates_table(
    asker: Asker, model: str, prefix: str, candidates: Sequence[str]
) -> pl.DataFrame:
    """One row per candidate: its pieces, chained probability, nll (nats) and first piece's
    rank, and each piece's probability given the pieces before it."""
    import math

    rows = [
        {
            "model": model, "prefix": prefix, "candidate": c.text, "pieces": list(c.pieces),
            "prob": c.prob, "nll": c.nll, "rank": c.rank,
            "piece_probs": [math.exp(lp) for lp in c.piece_logprobs],
            "context_tokens": c.context_tokens, "prefix_cut": c.cut,
        }
        for c in asker.ask(prefix, candidates)
    ]  # fmt: skip
    return pl.DataFrame(rows, schema={
        "model": pl.String, "prefix": pl.String, "candidate": pl.String,
        "pieces": pl.List(pl.String), "prob": pl.Float64, "nll": pl.Float64, "rank": pl.Int64,
        "piece_probs": pl.List(pl.Float64), "context_tokens": pl.Int64, "prefix_cut": pl.Boolean,
    })  # fmt: skip


def probe_results(asker: Asker, model: str, probes: Sequence[Probe]) -> pl.DataFrame:
    """One row per probe: the expected continuation's nll, the best foil and its nll, the
    margin (best foil's nll minus the expected's: positive means the expected one won, by
    that many nats), whether it won (beat every foil), and the expected one's rank."""
    rows = []
    for p in probes:
        expected, *foils = asker.ask(p.prefix, [p.expected, *p.foils])
        best = min(foils, key=lambda f: f.nll)
        rows.append({
            "model": model, "probe": p.id, "task": p.task, "expected": p.expected,
            "expected_nll": expected.nll, "expected_rank": expected.rank, "best_foil": p.foils[foils.index(best)],
            "best_foil_nll": best.nll, "margin": best.nll - expected.nll,
            "won": all(f.nll > expected.nll for f in foils),
            "context_tokens": expected.context_tokens, "prefix_cut": expected.cut,
        })  # fmt: skip
    return pl.DataFrame(rows)


def task_shares(results: pl.DataFrame) -> pl.DataFrame:
    """Per model and task (and `all`): probes, the share won, the mean margin."""
    stats = (
        pl.len().cast(pl.Int64).alias("probes"),
        pl.col("won").mean().alias("won_share"),
        pl.col("margin").mean().alias("mean_margin"),
    )
    per_task = results.group_by("model", "task", maintain_order=True).agg(*stats)
    overall = results.group_by("model", maintain_order=True).agg(*stats)
    return pl.concat(
        [per_task, overall.with_columns(pl.lit("all").alias("task")).select(per_task.columns)]
    )
