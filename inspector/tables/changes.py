"""What changed between aligned runs (`tables/alignment.py`), per unit and per task.

Per unit: `delta` is the last run's nll minus the first's (negative: the later run predicts
it better). Per task, for each run against the first: the units compared, the mean nll of
both, the mean change, the shares of units improved and worsened by more than a threshold
(default 0.5 nats), and the task's `contribution` to the overall change: the sum of its
units' changes divided by the number of all units, so the contributions of the tasks add up
to the change of the overall mean (the `all` row).

With three runs or more, each unit's curve y_1..y_n (its nll in run order: by size, or as
given) gets a trend class, with a tolerance band tau (the threshold) for what counts as a
change:

- `u_shaped`: worse, then better (performance U-shaped, as inverse scaling papers say):
  some middle run's loss is above both ends by more than tau;
- `inverted_u`: better, then worse: some middle run's loss is below both ends by more than
  tau (when a curve does both, the larger excursion decides);
- `improving`: neither, and y_n < y_1 - tau;
- `worsening` (inverse scaling): neither, and y_n > y_1 + tau;
- `flat`: none of these: the ends within tau of each other, no middle run beyond tau of both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from inspector.errors import message
from inspector.tables.alignment import Aligned, align, unit_texts
from inspector.tables.compare import describe, run_names, same_corpus, tokens_differ
from inspector.tables.run import Run
from inspector.tables.tasks import LN2, TasksError

THRESHOLD = 0.5  # nats
CLASSES = ("improving", "worsening", "u_shaped", "inverted_u", "flat")
CHANGE_COLUMNS = (
    "task", "units", "unit_share", "mean_nll_first", "mean_nll", "delta_mean_nll", "improved",
    "worsened", "contribution", "bits_per_byte_first", "bits_per_byte", "nats_per_word_first",
    "nats_per_word",
)  # fmt: skip


def _per_unit(nll: str, of: str) -> pl.Expr:
    """The units' loss `nll` summed per `of` summed (null where there is none of it)."""
    total = pl.col(of).sum()
    return pl.when(total > 0).then(pl.col(nll).sum() / total)


def with_change(units: pl.DataFrame, runs: int, threshold: float = THRESHOLD) -> pl.DataFrame:
    """`units` with `delta` (last run minus first) and, with 3 runs or more, `trend`."""
    first, last = pl.col("nll_0"), pl.col(f"nll_{runs - 1}")
    units = units.with_columns((last - first).alias("delta"))
    if runs < 3:
        return units
    middle = [pl.col(f"nll_{i}") for i in range(1, runs - 1)]
    rise = pl.max_horizontal(middle) - pl.max_horizontal(first, last)
    dip = pl.min_horizontal(first, last) - pl.min_horizontal(middle)
    trend = (
        pl.when((rise > threshold) & (rise >= dip))
        .then(pl.lit("u_shaped"))
        .when(dip > threshold)
        .then(pl.lit("inverted_u"))
        .when(last - first < -threshold)
        .then(pl.lit("improving"))
        .when(last - first > threshold)
        .then(pl.lit("worsening"))
        .otherwise(pl.lit("flat"))
    )
    return units.with_columns(trend.alias("trend"))


def changes(
    units: pl.DataFrame, names: Sequence[str], threshold: float = THRESHOLD
) -> pl.DataFrame:
    """Per task and for `all`, each run after the first against the first (`model` names
    the later run): units, their share, both mean nlls, the mean change, the shares improved
    and worsened beyond `threshold`, and the contribution to the overall change."""
    total = max(units.height, 1)
    blocks = []
    for i, name in enumerate(names[1:], start=1):
        d = pl.col(f"nll_{i}") - pl.col("nll_0")
        stats = (
            pl.len().cast(pl.Int64).alias("units"),
            (pl.len() / total).alias("unit_share"),
            pl.col("nll_0").mean().alias("mean_nll_first"),
            pl.col(f"nll_{i}").mean().alias("mean_nll"),
            d.mean().alias("delta_mean_nll"),
            (d < -threshold).mean().alias("improved"),
            (d > threshold).mean().alias("worsened"),
            (d.sum() / total).alias("contribution"),
            (_per_unit("nll_0", "bytes") / LN2).alias("bits_per_byte_first"),
            (_per_unit(f"nll_{i}", "bytes") / LN2).alias("bits_per_byte"),
            _per_unit("_word_nll_0", "_words").alias("nats_per_word_first"),
            _per_unit(f"_word_nll_{i}", "_words").alias("nats_per_word"),
        )
        per_task = units.group_by("task").agg(*stats).sort("contribution", "task")
        overall = units.select(pl.lit("all").alias("task"), *stats)
        blocks.append(
            pl.concat([per_task, overall]).select(pl.lit(name).alias("model"), *CHANGE_COLUMNS)
        )
    return pl.concat(blocks)


def trend_shares(units: pl.DataFrame) -> pl.DataFrame:
    """Per task and for `all`: units, and the share of each trend class (rows sum to 1)."""
    stats = (
        pl.len().cast(pl.Int64).alias("units"),
        *((pl.col("trend") == c).mean().alias(c) for c in CLASSES),
    )
    per_task = units.group_by("task").agg(*stats).sort("units", "task", descending=[True, False])
    return pl.concat([per_task, units.select(pl.lit("all").alias("task"), *stats)])


@dataclass(frozen=True)
class Comparison:
    """Runs of one corpus compared unit by unit: the alignment, each run's name, the units
    with their change (and trend), and how the runs were ordered."""

    aligned: Aligned
    names: tuple[str, ...]
    units: pl.DataFrame  # the aligned units with `delta` (and `trend` with 3 runs or more)
    threshold: float
    order: str  # "size" (by parameter count) or "given"

    @property
    def runs(self) -> tuple[Run, ...]:
        return self.aligned.runs

    def changes(self, doc_id: str | None = None) -> pl.DataFrame:
        """The per-task changes (`changes`) of the corpus, or of one document."""
        return changes(self._of(doc_id), self.names, self.threshold)

    def trends(self, doc_id: str | None = None) -> pl.DataFrame | None:
        """The per-task trend class shares, with 3 runs or more."""
        return trend_shares(self._of(doc_id)) if "trend" in self.units.columns else None

    def _of(self, doc_id: str | None) -> pl.DataFrame:
        return self.units if doc_id is None else self.units.filter(pl.col("doc_id") == doc_id)

    def unit_table(self) -> pl.DataFrame:
        """The per-unit table people export: each run's nll, pieces and rank side by side
        (columns named by run), the change, the trend."""
        named = []
        for i, name in enumerate(self.names):
            named += [
                pl.col(f"nll_{i}").alias(f"nll {name}"),
                pl.col(f"pieces_{i}").alias(f"pieces {name}"),
                pl.col(f"rank_{i}").alias(f"rank {name}"),
            ]
        rest = ["delta", *(["trend"] if "trend" in self.units.columns else [])]
        return self.units.with_columns(unit_texts(self.aligned)).select(
            "doc_id", "pos", "char_start", "char_end", "text", "task", "task_reason", "words",
            "bytes", *named, *rest,
        )  # fmt: skip

    def header(self) -> list[str]:
        """Lines naming the runs, the alignment, the order and the threshold."""
        a = self.aligned
        n = self.units.height
        if a.unit == "token":
            how = f"units: tokens, aligned by position (one tokenizer): {n:,} compared"
        else:
            how = (
                f"units: words, aligned by the text each run's pieces cover: {n:,} compared, "
                f"{a.joined:,} of them several words joined by a piece across a word boundary"
            )
            if a.shaped:
                how += " (the browsed run's tokens shape the units too: each lies in one)"
            how += (
                "; mean_nll and its change are nats per unit (a word, or a stretch of "
                "whitespace), nats_per_word the loss over the words alone, bits_per_byte per "
                "byte" + (": the runs' tokenizers differ, so nats per token would not compare"
                          if tokens_differ(a.runs) else "")
            )  # fmt: skip
        lines = [*describe(a.runs), how]
        if a.uncovered:
            lost = ", ".join(f"{v:.2f}" for v in a.uncovered_nll)
            lines.append(
                f"left out: {a.uncovered:,} unit(s) not covered by every run "
                f"(their loss in nats, run by run: {lost})"
            )
        order = "by model size" if self.order == "size" else "as given"
        lines.append(
            f"runs in order {order}; change = a later run's loss minus the first's "
            f"(negative: better); improved/worsened: by more than {self.threshold:g} nats"
        )
        if "trend" in self.units.columns:
            lines.append(
                f"trends over the {len(self.names)} runs (band {self.threshold:g} nats): "
                "u_shaped worse then better, inverted_u better then worse, improving, "
                "worsening, flat"
            )
        return lines


def ordered(runs: Sequence[Run], order: str) -> tuple[list[Run], str]:
    """The runs by parameter count (smallest first, ties as given) when `order` is `size` and
    every run knows its count, else as given; and the order used."""
    sizes = [r.settings.get("n_params") for r in runs]
    if order == "size" and all(isinstance(s, int) for s in sizes) and len(set(sizes)) > 1:
        return sorted(runs, key=lambda r: int(r.settings["n_params"])), "size"
    return list(runs), "given"


def compare_runs(
    runs: Sequence[Run],
    unit: str = "auto",
    threshold: float = THRESHOLD,
    order: str = "size",
    shape: pl.LazyFrame | None = None,
) -> Comparison:
    """Two runs or more of one corpus, aligned and compared unit by unit; `shape`: the token
    table of a browsed run whose every target must lie inside one unit (`align`)."""
    if len(runs) < 2:
        raise TasksError(message("compare_one_run", given=len(runs)))
    same_corpus(runs)
    runs, used = ordered(runs, order)
    aligned = align(runs, unit, shape)
    if aligned.units.height == 0:
        raise TasksError(message("compare_nothing"))
    units = with_change(aligned.units, len(runs), threshold)
    return Comparison(aligned, tuple(run_names(runs)), units, threshold, used)
