"""Per task, where predictions form (issue 35): the logit lens over a tagged token table.
Its identities: tokens per task equal the tasks table's; the last layer's mean loss and
top-1 share are the run's own; the share settled at the last layer is the top-1 share."""

from __future__ import annotations

import numpy as np
import polars as pl

from corpora import Document
from inspector.run.layers import LAYER_COLUMNS, task_layers

DOCS = [
    Document("biden", "Biden married Neilia Hunter, a student. The cat sat on the mat."),
    Document("danube", "The Danube flows into the Black Sea. It is long, and it is old."),
]


def _tagged(lm, window: int, stride: int) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    from inspector.lm.config import ScoreConfig
    from inspector.run.score import tag_table
    from inspector.run.tokens import TableScorer
    from taggers.rules import load_rules
    from taggers.tagger import TaskTagger

    table = TableScorer(lm, ScoreConfig(window=window, stride=stride)).score(DOCS)
    return pl.concat([table, tag_table(TaskTagger(load_rules()), DOCS, table)], how="horizontal")


def test_per_task_layers_keep_the_runs_identities(tiny_lm) -> None:
    table = _tagged(tiny_lm, 12, 4)  # rolling windows: most targets saw less than their pos
    out = task_layers(tiny_lm, table, 12, 4)
    assert tuple(out.columns) == LAYER_COLUMNS
    layers = tiny_lm.model.config.num_hidden_layers
    tasks = table.group_by("task").agg(pl.len().alias("n"), pl.col("nll").mean(),
                                       (pl.col("rank") == 1).mean().alias("top1"))  # fmt: skip
    for row in tasks.iter_rows(named=True):
        rows = out.filter(pl.col("task") == row["task"]).sort("layer")
        assert rows["layer"].to_list() == list(range(1, layers + 1))
        assert set(rows["tokens"]) == {row["n"]}  # the tasks table's tokens
        last = rows.row(-1, named=True)
        assert abs(last["mean_nll"] - row["nll"]) < 1e-5
        assert (
            abs(last["top1_share"] - row["top1"]) < 1e-9
            and last["settled_share"] == last["top1_share"]
        )
        assert (
            np.diff(rows["settled_share"].to_numpy()) >= 0
        ).all()  # settled by a layer: cumulative
    every = out.filter(pl.col("task") == "all")
    assert set(every["tokens"]) == {table.height}
    assert abs(every["mean_nll"][-1] - table["nll"].mean()) < 1e-5


def test_a_sample_bounds_the_targets_read(tiny_lm) -> None:
    table = _tagged(tiny_lm, 64, 32)
    seen: list[int] = []
    out = task_layers(tiny_lm, table, 64, 32, sample=10, seed=1,
                      progress=lambda done, total: seen.append(total))  # fmt: skip
    assert set(out.filter(pl.col("task") == "all")["tokens"]) == {10} and set(seen) == {10}
    again = task_layers(tiny_lm, table, 64, 32, sample=10, seed=1)
    assert out.equals(again)  # seeded: the same targets
