"""Human labels applied to a token table, by text span (never by token id)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl

from inspector.errors import InspectorError, message
from inspector.labels.store import Store
from inspector.tables.run import Run


def human_tasks(
    table: pl.DataFrame, labels: pl.DataFrame, doc_hashes: dict[str, str] | None = None
) -> pl.DataFrame:
    """The token table's targets that a person labelled, with `task` set to the human label.

    Joined by text, never by token id: a target takes the label whose span, in the same
    document with the same content (`doc_hashes`, else the caller keeps to labels of the same
    corpus hash), contains the target's first non-space character; so
    labels made under one tokenizer apply to another's pieces of the same word. Where
    several annotators labelled a span, the latest label counts.
    """
    live = labels.filter(pl.col("action") == "label").sort("id")
    if doc_hashes is not None:  # labels of a document whose text has changed since do not apply
        current = pl.DataFrame({"doc_id": list(doc_hashes), "doc_hash": list(doc_hashes.values())})
        live = live.join(current, on=["doc_id", "doc_hash"], how="semi")
    if live.is_empty() or table.is_empty():
        return table.clear()
    first = table.with_row_index("_row").with_columns(
        (
            pl.col("char_start")
            + (
                pl.col("token").str.len_chars()
                - pl.col("token").str.strip_chars_start().str.len_chars()
            )
        ).alias("_first")
    )
    spans = live.select(
        "doc_id",
        "char_start",
        "char_end",
        pl.col("label").alias("_human"),
        pl.col("id").alias("_id"),
    )
    joined = (
        first.join(spans, on="doc_id", suffix="_label")
        .filter(
            (pl.col("char_start_label") <= pl.col("_first"))
            & (pl.col("_first") < pl.col("char_end_label"))
        )
        .sort("_id")
        .group_by("_row", maintain_order=True)
        .last()
    )
    return (
        joined.sort("_row")
        .with_columns(pl.col("_human").alias("task"), pl.lit("human").alias("task_reason"))
        .select(table.columns)
    )


def with_human_labels(runs: list[Run], labels: str, db: Path | None) -> list[Run]:
    """Each run with people's labels as its tasks (`human`), or both versions (`both`)."""
    if db is None:
        raise InspectorError(message("labels_need_db", labels=labels))
    with Store(db, readonly=True) as store:
        out = []
        for run in runs:
            marks = store.table(corpus=run.settings.get("corpus_hash"))
            human = human_tasks(run.frame.collect(), marks)
            if human.is_empty():
                raise InspectorError(message("labels_none_for_corpus", db=db, source=run.source))
            if labels == "both":
                out.append(run)
            out.append(replace(run, frame=human.lazy(), labels="human"))
    return out
