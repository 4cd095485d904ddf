"""Per task, how far back the context a prediction leans on lies: attribution
(`lm/attribution.py`) of each sampled target to its context, as the windows that scored it
gave it, summarised by distance.

For one target, the mass at distance d is |attribution| of the context token d back (1: the
token just before the target); the first token of the model input is left out (the
document-start token, or a later window's first token: where models park attention). Per
task: the targets, the median over targets of the distance within which half the mass lies,
and the mean share of the mass within 1, 4, 16 and 64 tokens. "Punctuation looks 3 tokens
back, world knowledge 40" is read off these columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from inspector.lm.loading import LoadedModel
    from inspector.tables.run import Run

WITHIN = (1, 4, 16, 64)
CONTEXT_COLUMNS = ("task", "tokens", "median_distance", *(f"share_within_{d}" for d in WITHIN),
                   "mean_context")  # fmt: skip


def distance_profile(scores: np.ndarray, position: int) -> tuple[float, np.ndarray, int]:
    """For a target predicted from input `position`: the distance within which half the mass
    lies, the shares within `WITHIN`, and the context's length (input position 0 left out)."""
    mass = np.abs(np.nan_to_num(scores[1 : position + 1]))[::-1]  # distance 1 first
    total = mass.sum()
    if total == 0:
        return float("nan"), np.full(len(WITHIN), np.nan), len(mass)
    cumulative = np.cumsum(mass) / total
    half = int(np.searchsorted(cumulative, 0.5 - 1e-12) + 1)
    shares = np.array([cumulative[min(d, len(mass)) - 1] for d in WITHIN])
    return float(half), shares, len(mass)


def task_context(
    lm: LoadedModel,
    table: pl.DataFrame,
    window: int,
    stride: int,
    sample: int | None = 500,
    seed: int = 0,
    method: str = "gradient",
    progress: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """One row per task, then `all`: `CONTEXT_COLUMNS`. `table` is a tagged token table
    (doc_id, pos, token_id, task) of documents scored with `window`, `stride`; `method` is
    "gradient" (one backward pass per target) or "occlusion" (a forward pass per context
    token: exact, and costly)."""
    from inspector.lm.attribution import gradient_x_input_at
    from inspector.lm.windows import rolling_windows
    from inspector.run.layers import sample_targets

    chosen = sample_targets(table, sample, seed)
    by_doc = chosen.partition_by("doc_id", as_dict=True, maintain_order=True)
    documents = table.select("doc_id", "pos", "token_id").partition_by("doc_id", as_dict=True)
    tasks: list[str] = []
    halves: list[float] = []
    shares: list[np.ndarray] = []
    lengths: list[int] = []
    done = 0
    for (doc_id,), rows in by_doc.items():
        tokens = documents[(doc_id,)].sort("pos")["token_id"].to_list()
        seq = [lm.prefix_id, *tokens]
        pos = rows["pos"].to_numpy()
        task = rows["task"].to_list()
        for w in rolling_windows(len(tokens), window, stride):
            here = np.flatnonzero((pos >= w.first_target) & (pos < w.end))
            if not len(here):
                continue
            where = (pos[here] - w.start).tolist()
            wanted = [tokens[p] for p in pos[here]]
            if method == "gradient":  # progress after each target's backward pass: a long
                # window's many targets otherwise go by without a word
                each = (
                    None if progress is None else (lambda k, d=done: progress(d + k, chosen.height))
                )
                scores, _ = gradient_x_input_at(lm, seq[w.start : w.end], where, wanted, each)
            else:
                scores = _occluded(lm, seq[w.start : w.end], where, wanted)
            for i, q in enumerate(where):
                half, within, n = distance_profile(scores[i], q)
                tasks.append(task[here[i]])
                halves.append(half)
                shares.append(within)
                lengths.append(n)
            done += len(here)
            if progress is not None and method != "gradient":  # gradient: said per target
                progress(done, chosen.height)
    return _aggregate(tasks, halves, shares, lengths)


def _occluded(lm: LoadedModel, ids: list[int], where: list[int], wanted: list[int]) -> np.ndarray:
    from inspector.lm.attribution import occlusion

    out = np.zeros((len(where), len(ids)))
    for i, (q, t) in enumerate(zip(where, wanted, strict=True)):
        out[i, : q + 1] = occlusion(lm, ids[: q + 1], t).scores
    return out


def _aggregate(tasks: list[str], halves: list[float], shares: list[np.ndarray],
               lengths: list[int]) -> pl.DataFrame:  # fmt: skip
    schema = {"task": pl.String, "tokens": pl.Int64, "median_distance": pl.Float64,
              **{f"share_within_{d}": pl.Float64 for d in WITHIN}, "mean_context": pl.Float64}  # fmt: skip
    if not tasks:
        return pl.DataFrame(schema=schema)
    name = np.asarray(tasks)
    half, within, n = np.asarray(halves), np.stack(shares), np.asarray(lengths)
    rows = []
    for t in [*sorted(set(tasks)), "all"]:
        mask = np.ones(len(name), bool) if t == "all" else name == t
        measured = mask & ~np.isnan(half)
        rows.append({
            "task": t, "tokens": int(mask.sum()),
            "median_distance": float(np.median(half[measured])) if measured.any() else None,
            **{f"share_within_{d}": float(within[measured, k].mean()) if measured.any() else None
               for k, d in enumerate(WITHIN)},
            "mean_context": float(n[mask].mean()),
        })  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def run_context(
    lm: LoadedModel,
    run: Run,
    sample: int | None = 500,
    seed: int = 0,
    method: str = "gradient",
    progress: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """`task_context` over a run (scored now, cached or stored), through its own model
    (checked), each row carrying what it was computed from."""
    from inspector.run.layers import check_run_model, run_columns

    check_run_model(lm, run)
    st = run.settings
    table = run.frame.select("doc_id", "pos", "token_id", "task").collect()
    out = task_context(lm, table, int(st["window"]), int(st["stride"]), sample, seed, method,
                       progress)  # fmt: skip
    return out.with_columns(pl.lit(method).alias("method"), *run_columns(run, table, sample, seed))


@dataclass(frozen=True)
class TargetAttribution:
    """Attribution of one target of a document to its context, by document position."""

    pos: int  # the target
    method: str
    scores: np.ndarray  # (pos,) per earlier target of the document; NaN where not in its context
    nll: float
    top: list[tuple[int, float]]  # (document position, score), largest |score| first

    def buckets(self, n: int) -> np.ndarray:
        """A colour bucket per target of the document (`n` of them), diverging around zero
        relative to the largest |score|: 0 helps the target most (>= half of it), 1 helps
        (>= a tenth), 2 about nothing, 3 hurts, 4 hurts most; -1 outside the context."""
        out = np.full(n, -1, dtype=np.int64)
        scores = self.scores[: min(n, len(self.scores))]
        measured = ~np.isnan(scores)
        scale = np.abs(scores[measured]).max() if measured.any() else 0.0
        if scale == 0:
            out[: len(scores)][measured] = 2
            return out
        rel = np.where(measured, scores / scale, 0.0)
        bucket = np.select([rel >= 0.5, rel >= 0.1, rel > -0.1, rel > -0.5], [0, 1, 2, 3], 4)
        out[: len(scores)] = np.where(measured, bucket, -1)
        return out


def target_attribution(
    lm: LoadedModel, tokens: Sequence[int], pos: int, ctx_len: int, method: str = "gradient",
    top: int = 5,
) -> TargetAttribution:  # fmt: skip
    """Attribution of target `pos` of a document's `tokens` to the `ctx_len` tokens it saw
    when scored (its token-table row's), by `method` ("gradient" or "occlusion"). The
    context's first input token (the document-start token, or a window's first) is left out."""
    from inspector.lm.attribution import attribute
    from inspector.lm.lens import target_context

    context = target_context(lm.prefix_id, tokens, pos, ctx_len)
    found = attribute(lm, method, context, tokens[pos])
    # input position k holds document token pos - (len(context) - k); position 0 is either the
    # document-start token or a window's first token: left out
    scores = np.full(pos, np.nan)
    first = pos - (len(context) - 1)
    scores[first:pos] = found.scores[1:]
    order = np.argsort(-np.abs(np.nan_to_num(scores)), kind="stable")[:top]
    best = [(int(j), float(scores[j])) for j in order if not np.isnan(scores[j]) and scores[j] != 0]
    return TargetAttribution(pos, method, scores, found.nll, best)


def page_attributions(
    lm: LoadedModel,
    rows: pl.DataFrame,
    count: int | None,
    method: str = "gradient",
    progress: Callable[[int, int], None] | None = None,
) -> dict[tuple[str, int], TargetAttribution]:
    """Attribution of the `count` highest-loss targets of `rows` (a tagged token table of
    whole documents, the ones a page shows; None: every target) to their contexts, keyed by
    (doc_id, pos): for `inspector html`, which colours a target's context on click."""
    scored = rows.filter(pl.col("pos") > 0)  # the first target's context is the start alone
    chosen = scored if count is None else scored.sort("nll", descending=True).head(count)
    tokens = {str(k[0]): part.sort("pos")["token_id"].to_list()
              for k, part in rows.partition_by("doc_id", as_dict=True).items()}  # fmt: skip
    found: dict[tuple[str, int], TargetAttribution] = {}
    for i, r in enumerate(chosen.iter_rows(named=True)):
        doc = str(r["doc_id"])
        found[doc, int(r["pos"])] = target_attribution(lm, tokens[doc], int(r["pos"]),
                                                       int(r["ctx_len"]), method)  # fmt: skip
        if progress is not None:
            progress(i + 1, chosen.height)
    return found
