"""Comparisons name what differs between runs; every table names its run (issue 13, 1-2).

A `--window 16` run and a full-window run of the same weights once showed a delta of mean
loss as if it were a model difference, and the app's `s` screen kept one run per model.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from conftest import run_cli
from corpora import Document
from inspector.lm.config import ScoreConfig
from inspector.run.cache import cached_runs, request_key
from inspector.run.score import score_corpus
from inspector.tables.compare import RUN_COLUMNS, compare, describe
from inspector.tables.run import Run
from taggers.rules import load_rules

DOCS = [
    Document("a", "Biden married Neilia Hunter, a student. The capital of Azerbaijan is Baku."),
    Document("b", "In my free time, I like to code, and the Danube flows into the Black Sea."),
]


def _runs(tiny_lm, tmp_path: Path) -> list[Run]:
    runs = []
    for config in (ScoreConfig(), ScoreConfig(window=16, stride=8)):
        rules = load_rules()
        key = request_key(tiny_lm.source.identity, "cpu", "auto", config, rules, DOCS)
        r = score_corpus(DOCS, tiny_lm, config, tmp_path, rules=rules, request=key)
        runs.append(Run(r.settings["model"], r.table.lazy(), r.settings, "x"))
    return runs


def test_a_comparison_names_the_settings_that_differ(tiny_lm, tmp_path: Path) -> None:
    runs = _runs(tiny_lm, tmp_path)
    table = compare(runs, "task")
    names = table["model"].unique(maintain_order=True).to_list()
    assert len(names) == 2 and all("window" in n and "stride" in n for n in names)
    assert "window 16" in names[1] and "dtype" not in names[1]
    lines = describe(runs)
    assert any(line.startswith("differ in: window, stride") for line in lines)
    assert any("dtype float32" in line and "k 20" in line for line in lines)  # shared
    assert set(RUN_COLUMNS) <= set(table.columns)
    assert table["window"].unique().sort().to_list() == [16, 64]


def test_the_cache_gives_every_run_of_a_model_not_one(tiny_lm, tmp_path: Path) -> None:
    runs = _runs(tiny_lm, tmp_path)
    found = cached_runs(tmp_path, runs[0].settings["corpus_hash"], load_rules().sha256)
    assert sorted(run.settings["window"] for run in found) == [16, 64]  # runs, not tuples


def test_tasks_prints_the_run_and_exports_carry_it(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "c.jsonl").write_text(
        "\n".join(json.dumps({"id": d.id, "text": d.text}) for d in DOCS)
    )
    common = ["c.jsonl", "--model", str(tiny_model_dir), "--cache-dir", "cache"]
    text = run_cli("tasks", *common, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    head = text.stdout.splitlines()[:2]
    assert head[0].startswith("corpus ") and "rules " in head[0] and "(2 documents)" in head[0]
    assert head[1].startswith("run model ") and "window 64, stride 32, k 20" in head[1]
    csv = run_cli("tasks", *common, "--format", "csv", cwd=tmp_path)
    table = pl.read_csv(csv.stdout.encode())
    assert table["window"].to_list() == [64] * table.height and table["dtype"][0] == "float32"
    summary = run_cli("score", *common, cwd=tmp_path).stdout
    assert "corpus hash " in summary and "rules    default (hash " in summary


def test_runs_of_one_model_are_charted_side_by_side_not_at_one_size(
    tiny_lm, tmp_path: Path
) -> None:
    from inspector.tables.plot import plot, run_axis

    runs = _runs(tiny_lm, tmp_path)
    found = cached_runs(tmp_path, runs[0].settings["corpus_hash"], load_rules().sha256)
    assert [run.settings["window"] for run in found] == [16, 64]  # shortest window first
    table = compare(found, "task")
    axis = run_axis(table)
    assert axis is not None
    xs, ticks, name = axis
    assert xs == [0.0, 1.0] and name == "run (as in the table)"  # one place per run
    assert ticks == ["window 16, stride 8", "window 64, stride 32"], ticks
    drawing = plot(table, 100, 20)
    assert "per-task loss by run" in drawing and "window 16, stride 8" in drawing, drawing
