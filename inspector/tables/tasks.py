"""Per-task loss tables: the overall loss as a weighted sum of per-task losses.

For a grouping (by task, by document, or by document and task) each row has the group's
`tokens`, its `token_share` of its parent (the corpus, or its document), `mean_nll`,
`loss_contribution = token_share * mean_nll` (so the contributions of a parent's rows add
up to the parent's mean loss), `loss_share`, `top1_accuracy`, `median_rank`,
`mean_entropy`, and a 95% confidence interval of `mean_nll` (bootstrap on small groups). Rows
named `all` close each parent. Computed lazily with polars, so Parquet inputs larger than
memory stream through.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from inspector.errors import InspectorError, message

GROUPINGS = {"task": ["task"], "doc": ["doc_id"], "task,doc": ["doc_id", "task"]}
Z95 = 1.959963984540054  # two-sided 95% normal quantile
NEEDED = ("doc_id", "task", "nll", "rank", "entropy")
COLUMNS = (
    "tokens", "token_share", "mean_nll", "loss_contribution", "loss_share", "top1_accuracy",
    "median_rank", "mean_entropy", "mean_nll_ci_low", "mean_nll_ci_high", "ci_method",
)  # fmt: skip
# The 95% interval of a mean loss: losses are skewed (most near 0, a long tail), so a normal
# interval on a few tokens can reach below zero. Below this many tokens the interval is a
# percentile bootstrap (inside the range of the data, so never below 0); above it the normal
# approximation, which the central limit theorem makes good there.
BOOTSTRAP_BELOW = 100
BOOTSTRAP_RESAMPLES = 2000


class TasksError(InspectorError):
    """A per-task request that cannot be answered as asked."""


def summarize(
    frame: pl.LazyFrame, by: str = "task", tasks: Sequence[str] | None = None
) -> pl.DataFrame:
    """The per-task (or per-document) table of one token table."""
    if by not in GROUPINGS:
        raise TasksError(message("bad_by", by=by, groupings=", ".join(GROUPINGS)))
    frame = frame.select(NEEDED)
    if tasks:
        present = set(
            frame.select(pl.col("task").unique()).collect(engine="streaming")["task"].to_list()
        )
        unknown = [t for t in tasks if t not in present]
        if unknown:
            raise TasksError(
                message("task_unknown", unknown=unknown[0], present=", ".join(sorted(present)))
            )
        frame = frame.filter(pl.col("task").is_in(list(tasks)))
    keys = GROUPINGS[by]
    parent = ["doc_id"] if by == "task,doc" else []
    groups = _aggregate(frame, keys)
    totals = _aggregate(frame, parent)
    closing = totals.with_columns(*(pl.lit("all").alias(k) for k in keys if k not in parent))
    if not parent:
        closing = closing.with_columns(pl.lit(1).alias("_order"))
    rows = pl.concat(
        [
            groups.with_columns(pl.lit(0).alias("_order")),
            closing.with_columns(pl.lit(1).alias("_order")),
        ],
        how="diagonal",
    )
    parent_totals = totals.select(
        *parent, pl.col("tokens").alias("_parent_tokens"), pl.col("_nll_sum").alias("_parent_nll")
    )
    rows = (
        rows.join(parent_totals, on=parent, how="left")
        if parent
        else rows.join(parent_totals, how="cross")
    )
    rows = rows.with_columns(
        (pl.col("tokens") / pl.col("_parent_tokens")).alias("token_share"),
        (pl.col("_nll_sum") / pl.col("_parent_nll")).alias("loss_share"),
        (pl.col("_nll_std") / pl.col("tokens").sqrt() * Z95).alias("_half"),
    ).with_columns(
        (pl.col("token_share") * pl.col("mean_nll")).alias("loss_contribution"),
        (pl.col("mean_nll") - pl.col("_half")).alias("mean_nll_ci_low"),
        (pl.col("mean_nll") + pl.col("_half")).alias("mean_nll_ci_high"),
    )
    order = [*parent, "_order", pl.col("loss_contribution")]
    # the streaming engine keeps memory flat when the input is a scan of Parquet parts
    out = rows.sort(order, descending=[*(False for _ in parent), False, True]).collect(
        engine="streaming"
    )
    out = _bootstrap_small(out, frame, keys, parent)
    return out.select(*keys, *COLUMNS)


def _bootstrap_small(
    out: pl.DataFrame, frame: pl.LazyFrame, keys: list[str], parent: list[str]
) -> pl.DataFrame:
    """The 95% interval of `mean_nll` by percentile bootstrap for rows of fewer than
    `BOOTSTRAP_BELOW` tokens (a fixed seed: the same table gives the same interval)."""
    import numpy as np

    method = (
        pl.when(pl.col("tokens") < 2)
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("tokens") < BOOTSTRAP_BELOW)
        .then(pl.lit("bootstrap"))
        .otherwise(pl.lit("normal"))
    )
    out = out.with_columns(method.alias("ci_method"))
    small = out.filter(pl.col("ci_method") == "bootstrap")
    if small.is_empty():
        return out
    values = _losses_of(small, frame, keys, parent)
    rng = np.random.default_rng(0)
    low, high = out["mean_nll_ci_low"].to_list(), out["mean_nll_ci_high"].to_list()
    index = out.with_row_index("_row").filter(pl.col("ci_method") == "bootstrap")
    for row in index.iter_rows(named=True):
        nll = values[tuple(row[k] for k in keys)]
        draws = rng.integers(0, len(nll), size=(BOOTSTRAP_RESAMPLES, len(nll)))
        low[row["_row"]], high[row["_row"]] = np.quantile(
            nll[draws].mean(axis=1), [0.025, 0.975]
        ).tolist()
    return out.with_columns(
        pl.Series("mean_nll_ci_low", low, dtype=pl.Float64),
        pl.Series("mean_nll_ci_high", high, dtype=pl.Float64),
    )


def _aggregate(frame: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    aggs = [
        pl.len().cast(pl.Int64).alias("tokens"),
        pl.col("nll").sum().alias("_nll_sum"),
        pl.col("nll").mean().alias("mean_nll"),
        pl.col("nll").std().alias("_nll_std"),
        (pl.col("rank") == 1).mean().alias("top1_accuracy"),
        pl.col("rank").median().alias("median_rank"),
        pl.col("entropy").mean().alias("mean_entropy"),
    ]
    return frame.group_by(keys).agg(aggs) if keys else frame.select(aggs)


def _losses_of(
    rows: pl.DataFrame, frame: pl.LazyFrame, keys: list[str], parent: list[str]
) -> dict[tuple[Any, ...], Any]:
    """The losses of each of `rows` (summary rows, keyed by `keys`), read in one pass per
    kind of row: the groups, and the closing `all` rows (all tokens of their parent)."""
    import numpy as np

    out: dict[tuple[Any, ...], Any] = {}
    closing = [k for k in keys if k not in parent]  # "all" in a closing row
    groups = rows.filter(pl.all_horizontal(pl.col(k) != "all" for k in closing))
    totals = rows.filter(pl.all_horizontal(pl.col(k) == "all" for k in closing))
    for part, on in ((groups, keys), (totals, parent)):
        if part.is_empty():
            continue
        lazy = frame.join(part.lazy().select(on), on=on, how="semi") if on else frame
        table = lazy.group_by(on or pl.lit(0).alias("_all")).agg(pl.col("nll")).collect()
        for row in table.iter_rows(named=True):
            key = tuple(row[k] if k in on else "all" for k in keys)
            out[key] = np.sort(np.asarray(row["nll"], dtype=np.float64))  # order-free: same draws
    return out
