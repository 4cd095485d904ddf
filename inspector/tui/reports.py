"""The reports the app opens in a modal (`s`: loss by task across the chosen runs of this
corpus; `K`: agreement of labels), computed off the event loop as `Report`s."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from inspector.tables.plot import LOSS_UNITS, in_unit
from inspector.tables.scaling import FIT_UNITS
from inspector.tui.screens.report import Chart, Note, Report, Table


def tasks_report(found: Any, chosen: Any, cache_dir: Path, rules_hash: str) -> Report:
    """The chosen runs of this corpus (`run/runsets.py`: a `Catalog` and its `RunSet`),
    smallest model first: which run each short name is, the per-task table (wide: a column
    per run where it fits; else a row per task and run), and the chart (loss against size,
    fitted, with exact match beside). Across tokenizers every loss is in bits per byte."""
    from inspector.tables.compare import compare

    runs = chosen.runs
    report = Report(catalog=found, chosen=list(chosen.keys))
    if not runs:
        report.parts = [Note("nothing of this corpus is in the cache yet")]
        return report
    table = compare(runs, "task")
    if len(runs) == 1:
        report.parts = [
            *_one_run(chosen, found, table),
            *_layer_parts(cache_dir, found.corpus, rules_hash),
        ]
        return report
    unit = "byte" if chosen.tokenizers_differ else "token"
    head = [
        UNIT_LINES[unit].format(tokenizers=", ".join(chosen.tokenizers)),
        f"{len(runs)} of {len(found.entries)} cached runs, smallest model first (D: choose)",
    ]
    below = [*([chosen.left_out] if chosen.left_out else []), "runs:"]
    below += [f"  {line}" for line in chosen.legend()]
    below.append("arrows: a row · Enter on a task: its highest-loss targets · Tab: the next "
                 "table · PgDn/PgUp: scroll (charts below) · Esc: close")  # fmt: skip
    wide, long = per_task_tables(table, chosen.names, unit)
    caption = (
        f"loss by task in {FIT_UNITS[unit][1]} (em: exact match of words; share: of the run's loss"
    )
    report.parts = [
        Note("\n".join(head)),
        Table(
            f"{caption})",
            wide,
            narrow=long,
            narrow_caption=f"{caption}; change: against the first run)",
        ),  # fmt: skip
        Note("\n".join(below)),
        *(
            _fit_parts(runs, table, chosen.names, unit)
            or [Chart(_named(in_unit(table, unit), chosen.names))]
        ),
        *_layer_parts(cache_dir, found.corpus, rules_hash),
    ]
    return report


UNIT_LINES = {
    "token": "loss in nats per token: the chosen runs share one tokenizer ({tokenizers})",
    "byte": "loss in bits per byte: the chosen runs' tokenizers ({tokenizers}) split the text "
    "into different tokens, so nats per token would not compare",
}


def _one_run(chosen: Any, found: Any, table: pl.DataFrame) -> list[Note | Table | Chart]:
    head = [
        f"1 run chosen of {len(found.entries)} cached"
        + (" (D: choose others to compare)" if len(found.entries) > 1 else
           "; score it with others to compare: inspector tasks --model A --model B"),
        *chosen.legend(),
    ]  # fmt: skip
    columns = ["task", "tokens", "token_share", "mean_nll", "loss_contribution", "loss_share",
               "top1_accuracy", "word_exact_match", "bits_per_byte", "nats_per_word",
               "median_rank", "mean_nll_ci_low", "mean_nll_ci_high"]  # fmt: skip
    return [
        Note("\n".join(head)),
        Table("loss by task (nats; contributions add up to the `all` row)", table.select(columns)),
        Chart(table),
    ]


def per_task_tables(
    table: pl.DataFrame, names: Sequence[str], unit: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A `compare` table of several runs in two forms: wide (a row per task; per run its
    loss in `unit`, exact match and share of loss) and long (a row per task and run, the
    change against the first run beside, every figure after)."""
    column = LOSS_UNITS[unit][0]
    runs = table["model"].unique(maintain_order=True).to_list()
    short = dict(zip(runs, names, strict=True))
    named = table.with_columns(pl.col("model").replace_strict(short).alias("run"),
                               pl.col(column).alias("loss"))  # fmt: skip
    first = named.filter(pl.col("model") == runs[0]).select("task", pl.col("loss").alias("_first"))
    long = (
        named.join(first, on="task", how="left", maintain_order="left")
        .with_columns((pl.col("loss") - pl.col("_first")).alias("change"))
        .select(
            "task",
            "run",
            "loss",
            "change",
            pl.col("word_exact_match").alias("em"),
            pl.col("loss_share").alias("share"),
            "top1_accuracy",
            "tokens",
            "bytes",
            "words",
            "median_rank",
        )  # fmt: skip
    )
    order = {t: i for i, t in enumerate(named["task"].unique(maintain_order=True).to_list())}
    long = long.sort(
        pl.col("task").replace_strict(order, return_dtype=pl.Int64), maintain_order=True
    )
    wide = named.filter(pl.col("model") == runs[0]).select("task")
    for run in runs:
        part = named.filter(pl.col("model") == run).select(
            "task", pl.col("loss").alias(f"loss {short[run]}"),
            pl.col("word_exact_match").alias(f"em {short[run]}"),
            pl.col("loss_share").alias(f"share {short[run]}"),
        )  # fmt: skip
        wide = wide.join(part, on="task", how="left", maintain_order="left")
    return wide, long


def _named(table: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
    """A `compare` table with its runs under their short names (the charts' ticks)."""
    runs = table["model"].unique(maintain_order=True).to_list()
    return table.with_columns(pl.col("model").replace_strict(dict(zip(runs, names, strict=True))))


def _fit_parts(
    runs: list[Any], table: pl.DataFrame, names: Sequence[str], unit: str
) -> list[Note | Table | Chart]:
    """With 3 or more runs of models of different sizes: each task's fit of loss (in
    `unit`) against size, its chart (points and curves) with exact match of words beside."""
    from inspector.tables.scaling import FIT_NOTE, fit_runs, readable

    sizes = [r.settings.get("n_params") for r in runs]
    if len(runs) < 3 or not all(sizes) or len(set(sizes)) < len(sizes):
        return []
    fitted = fit_runs(runs, unit=unit)
    fits = fitted.fits
    drawn = _named(in_unit(table, unit), names)
    return [
        Table(
            f"how each task scales: fits of loss in {FIT_UNITS[unit][1]} against parameters",
            readable(fits),
        ),  # fmt: skip
        Note(FIT_NOTE),
        Chart(drawn, kind="fits", fits=fits, beside=Chart(drawn, kind="word_exact_match")),
    ]


def _layer_parts(cache_dir: Path, corpus: str, rules_hash: str) -> list[Note | Table | Chart]:
    """Where each task's predictions form, from the newest `inspector layers` table kept
    for this corpus (the lens over a corpus takes minutes: it is not run here)."""
    from inspector.run.layers import cached_layers
    from inspector.tables.layers import by_layer, settling

    found = cached_layers(cache_dir, corpus, rules_hash)
    if not found:
        return [Note("where each task's predictions form, by layer: run `inspector layers` on "
                     "this corpus (with this --cache-dir) and its curves are drawn here")]  # fmt: skip
    layers = found[0]
    first = layers.row(0, named=True)
    head = (f"by layer ({first['lens']} lens, {first['model']}, {first['sampled']:,} of "
            f"{first['targets']:,} targets; from inspector layers):")  # fmt: skip
    return [
        Note("\n".join([head, *settling(layers)])),
        Table(
            "share of targets settled (top-1 from this layer to the last)",
            by_layer(layers, "settled_share"),
        ),  # fmt: skip
        Chart(layers, kind="layers"),
    ]


def agreement_report(db: Path | None, corpus: str) -> Report:
    """The heuristic against people, then each pair of annotators, on this corpus's labels
    (in `db`; None: where labels go by default)."""
    from inspector.labels.agreement import agreements
    from inspector.labels.place import label_db
    from inspector.labels.store import Store

    db = label_db(db).path
    with Store(db, readonly=True) as store:
        table = store.table(corpus=corpus)
    if table.is_empty():
        return Report([Note(f"no labels for this corpus in {db} yet: press a to annotate")])
    pairs = agreements(table, (), str(db))
    parts: list[Note | Table | Chart] = []
    for agreement in pairs:
        parts += [
            Note(agreement.summary()),
            Table(
                f"confusion (rows: {agreement.name_a}, columns: {agreement.name_b})",
                agreement.confusion,
            ),
            Table(
                f"per task ({agreement.name_a} as the prediction, {agreement.name_b} as the truth)",
                agreement.per_task,
            ),
        ]
    return Report(parts)
