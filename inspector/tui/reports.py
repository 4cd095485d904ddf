"""The reports the app opens in a modal (`s`: loss by task across the cached runs of this
corpus; `K`: agreement of labels), computed off the event loop as `Report`s."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from inspector.tui.screens.report import Chart, Note, Report, Table


def tasks_report(cache_dir: Path, corpus: str, rules_hash: str) -> Report:
    """Every cached run of this corpus under these rules, smallest model first: which run
    each is (what differs between them), the per-task table, and its chart."""
    from inspector.run.cache import cached_runs
    from inspector.tables.compare import compare, describe

    runs = cached_runs(cache_dir, corpus, rules_hash)
    if not runs:
        return Report([Note("nothing of this corpus is in the cache yet")])
    table = compare(runs, "task")
    several = len(runs) > 1
    head = describe(runs)
    head.append(
        f"{len(runs)} runs of this corpus in the cache, smallest model first (runs of one "
        "model: shortest window first)"
        if several
        else "1 run of this corpus in the cache; score it with others to compare: "
        "inspector tasks --model A --model B"
    )
    columns = ["model", "n_params"] if several else []
    columns += ["task", "tokens", "token_share", "mean_nll", "loss_contribution", "loss_share"]
    columns += ["delta_mean_nll"] if several else []
    columns += ["top1_accuracy", "word_exact_match", "bits_per_byte", "nats_per_word"]
    columns += ["median_rank", "mean_nll_ci_low", "mean_nll_ci_high"]
    shown = table.select(columns)
    head.append(
        "arrows: a row · Enter on a task: its highest-loss targets · Tab: the next table · "
        "PgDn/PgUp: scroll (the chart is below) · Esc: close"
    )
    parts: list[Note | Table | Chart] = [
        Note("\n".join(head)),
        Table("loss by task (nats; contributions add up to the `all` row)", shown),
    ]
    fitted = _fit_parts(runs, table)
    parts += fitted or [Chart(table.with_columns(pl.col("n_params").fill_null(0)))]
    return Report([*parts, *_layer_parts(cache_dir, corpus, rules_hash)])


def _fit_parts(runs: list, table: pl.DataFrame) -> list[Note | Table | Chart]:  # type: ignore[type-arg]
    """With 3 or more runs of models of different sizes: each task's fit of loss against
    size, its chart (points and curves), and exact match of words against size."""
    from inspector.tables.scaling import FIT_NOTE, TOKENIZERS_DIFFER, fit_runs, readable

    sizes = [r.settings.get("n_params") for r in runs]
    if len(runs) < 3 or not all(sizes) or len(set(sizes)) < len(sizes):
        return []
    fitted = fit_runs(runs)
    fits = fitted.fits
    notes = [FIT_NOTE]
    if fitted.tokenizers_differ:
        notes.append(TOKENIZERS_DIFFER)
    return [
        Table("how each task scales: fits of mean loss against parameters", readable(fits)),
        Note("\n".join(notes)),
        Chart(table, kind="fits", fits=fits),
        Chart(table, kind="word_exact_match"),
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
