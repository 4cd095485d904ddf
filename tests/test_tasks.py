"""Per-task loss tables: the identity, groupings, exports, comparisons of models, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from conftest import run_cli
from corpora import Document
from inspector.run.score import score_corpus
from inspector.run.stored import open_table
from inspector.tables.compare import compare
from inspector.tables.plot import plot
from inspector.tables.render import render, write
from inspector.tables.run import Run
from inspector.tables.schema import write_table
from inspector.tables.tasks import BOOTSTRAP_BELOW, TasksError, summarize

DOCS = [
    Document("a", "Biden married Neilia Hunter, a student. The capital of Azerbaijan is Baku."),
    Document("b", "In my free time, I like to code. 3 + 8 * 4 = 35."),
    Document("c", "The Danube flows into the Black Sea, after about 2,850 kilometres."),
]


@pytest.fixture(scope="module")
def scored(tiny_lm):
    return score_corpus(DOCS, tiny_lm)


def test_contributions_add_up_to_the_overall_loss(scored) -> None:
    t = summarize(scored.table.lazy(), "task")
    parts, total = (
        t.filter(pl.col("task") != "all"),
        t.filter(pl.col("task") == "all").row(0, named=True),
    )
    assert total["mean_nll"] == pytest.approx(scored.table["nll"].mean(), rel=1e-12)
    assert parts["loss_contribution"].sum() == pytest.approx(total["mean_nll"], rel=1e-12)
    assert parts["token_share"].sum() == pytest.approx(1.0, rel=1e-12)
    assert parts["loss_share"].sum() == pytest.approx(1.0, rel=1e-12)
    assert parts["tokens"].sum() == total["tokens"] == scored.table.height
    assert t["task"].to_list()[-1] == "all"
    assert parts["loss_contribution"].to_list() == sorted(
        parts["loss_contribution"].to_list(), reverse=True
    )


def test_per_task_figures_match_numpy(scored) -> None:
    t = summarize(scored.table.lazy(), "task")
    for task in t["task"]:
        rows = scored.table if task == "all" else scored.table.filter(pl.col("task") == task)
        got = t.filter(pl.col("task") == task).row(0, named=True)
        nll = rows["nll"].to_numpy()
        assert got["mean_nll"] == pytest.approx(nll.mean())
        assert got["top1_accuracy"] == pytest.approx((rows["rank"].to_numpy() == 1).mean())
        assert got["median_rank"] == pytest.approx(np.median(rows["rank"].to_numpy()))
        assert got["mean_entropy"] == pytest.approx(rows["entropy"].to_numpy().mean())
        if len(nll) >= BOOTSTRAP_BELOW:
            half = 1.959963984540054 * nll.std(ddof=1) / np.sqrt(len(nll))
            assert got["ci_method"] == "normal"
            assert got["mean_nll_ci_low"] == pytest.approx(nll.mean() - half)
            assert got["mean_nll_ci_high"] == pytest.approx(nll.mean() + half)
        elif len(nll) > 1:  # a percentile bootstrap: inside the data's range, around the mean
            assert got["ci_method"] == "bootstrap"
            assert nll.min() <= got["mean_nll_ci_low"] <= nll.mean() <= got["mean_nll_ci_high"]
            assert got["mean_nll_ci_high"] <= nll.max()


def test_small_groups_get_an_interval_that_stays_above_zero() -> None:
    """Skewed losses on a few tokens: a normal interval reached below zero."""
    losses = [0.001] * 8 + [9.0, 12.0]
    frame = pl.DataFrame(
        {"doc_id": ["d"] * 10, "task": ["grammar"] * 10, "nll": losses,
         "rank": [1] * 10, "entropy": [1.0] * 10}
    ).lazy()  # fmt: skip
    row = summarize(frame, "task").filter(pl.col("task") == "grammar").row(0, named=True)
    mean, half = np.mean(losses), 1.959963984540054 * np.std(losses, ddof=1) / np.sqrt(10)
    assert mean - half < 0  # what the normal approximation gave
    assert row["ci_method"] == "bootstrap" and 0 < row["mean_nll_ci_low"] < mean
    again = summarize(frame, "task").filter(pl.col("task") == "grammar").row(0, named=True)
    assert again["mean_nll_ci_low"] == row["mean_nll_ci_low"]  # a fixed seed


def test_by_doc_rows_sum_back_to_the_corpus_row(scored) -> None:
    t = summarize(scored.table.lazy(), "doc")
    docs, corpus = (
        t.filter(pl.col("doc_id") != "all"),
        t.filter(pl.col("doc_id") == "all").row(0, named=True),
    )
    assert docs.height == 3
    assert docs["tokens"].sum() == corpus["tokens"]
    assert docs["loss_contribution"].sum() == pytest.approx(corpus["mean_nll"], rel=1e-12)


def test_by_task_and_doc_adds_up_within_each_document(scored) -> None:
    t = summarize(scored.table.lazy(), "task,doc")
    for doc in ("a", "b", "c"):
        rows = t.filter(pl.col("doc_id") == doc)
        whole = rows.filter(pl.col("task") == "all").row(0, named=True)
        parts = rows.filter(pl.col("task") != "all")
        assert parts["loss_contribution"].sum() == pytest.approx(whole["mean_nll"], rel=1e-12)
        assert whole["mean_nll"] == pytest.approx(
            scored.table.filter(pl.col("doc_id") == doc)["nll"].mean()
        )


def test_task_filter_and_unknown_task(scored) -> None:
    t = summarize(scored.table.lazy(), "task", ["grammar", "punctuation"])
    assert set(t["task"]) == {"grammar", "punctuation", "all"}
    with pytest.raises(TasksError, match="--task gramar: no such task"):
        summarize(scored.table.lazy(), "task", ["gramar"])


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "parquet", "md", "table"])
def test_every_export_format_round_trips(scored, tmp_path: Path, fmt: str) -> None:
    t = summarize(scored.table.lazy(), "task")
    numbers = [c for c in t.columns if t.schema[c].is_numeric()]
    out = tmp_path / f"tasks.{fmt}"
    write(t, fmt, out)
    if fmt == "csv":
        back = pl.read_csv(out)
    elif fmt == "json":
        back = pl.DataFrame(json.loads(out.read_text()))
    elif fmt == "jsonl":
        back = pl.read_ndjson(out)
    elif fmt == "parquet":
        back = pl.read_parquet(out)
    else:  # the human formats print 4 decimals: parse them back and compare at that precision
        lines = [
            ln
            for ln in out.read_text().splitlines()
            if ln and not ln.startswith("|-") and "---" not in ln
        ]
        cells = [
            [c.strip() for c in (ln.strip("|").split("|") if fmt == "md" else ln.split())]
            for ln in lines
        ]
        back = pl.DataFrame(
            {h: [row[i] for row in cells[1:]] for i, h in enumerate(cells[0])}
        ).with_columns(
            pl.exclude("task", "ci_method").str.replace_all(",", "").replace("-", None)
            .cast(pl.Float64)
        )  # fmt: skip
        for c in numbers:
            np.testing.assert_allclose(back[c].to_numpy(), t[c].to_numpy(), atol=1e-4)
        assert back["ci_method"].to_list() == t["ci_method"].to_list()
        return
    assert back.columns == t.columns
    for c in numbers:
        np.testing.assert_allclose(
            back[c].cast(pl.Float64).to_numpy(), t[c].cast(pl.Float64).to_numpy(), rtol=1e-12
        )
    for c in ("task", "ci_method"):
        assert back[c].to_list() == t[c].to_list()


def test_parts_folder_and_glob_read_as_one_table(scored, tmp_path: Path) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, doc in enumerate(("a", "b", "c")):
        part = scored.table.filter(pl.col("doc_id") == doc)
        settings = {**scored.settings, "tokens": part.height}  # as score --parts writes a part
        write_table(part, parts / f"part-{i}.parquet", settings)
    whole = summarize(scored.table.lazy(), "task")
    for spec in (str(parts), str(parts / "*.parquet")):
        run = open_table(spec)
        assert isinstance(run.frame, pl.LazyFrame)
        assert summarize(run.frame, "task").equals(whole)
    assert run.settings["model_identity"] == scored.settings["model_identity"]


def test_comparing_three_model_sizes(tiny_family: list[Path], tmp_path: Path) -> None:
    from inspector.lm.loading import load_model

    runs = []
    for folder in tiny_family:
        lm = load_model(str(folder), tmp_path, device="cpu")
        result = score_corpus(DOCS, lm)
        runs.append(Run(folder.name, result.table.lazy(), result.settings, str(folder)))
    t = compare(runs, "task")
    assert t["model"].unique(maintain_order=True).to_list() == [f.name for f in tiny_family]
    sizes = t["n_params"].unique(maintain_order=True).to_list()
    assert sizes == sorted(sizes) and len(set(sizes)) == 3
    first = t.filter(pl.col("model") == tiny_family[0].name)
    assert first["delta_mean_nll"].abs().max() == 0
    last = t.filter(pl.col("model") == tiny_family[-1].name).join(first, on="task", suffix="_0")
    np.testing.assert_allclose(
        last["delta_mean_nll"].to_numpy(), (last["mean_nll"] - last["mean_nll_0"]).to_numpy()
    )
    drawing = plot(t, 80, 20)
    assert "per-task loss against model size" in drawing and "grammar" in drawing


def test_tables_of_different_corpora_are_not_compared(scored, tiny_lm) -> None:
    other = score_corpus([Document("z", "Something else entirely.")], tiny_lm)
    runs = [
        Run("a", scored.table.lazy(), scored.settings, "one.parquet"),
        Run("b", other.table.lazy(), other.settings, "two.parquet"),
    ]
    with pytest.raises(
        TasksError, match=r"two\.parquet is a table of another corpus than one\.parquet"
    ):
        compare(runs)


def test_render_table_is_aligned(scored) -> None:
    text = render(summarize(scored.table.lazy(), "task"), "table")
    lines = text.splitlines()
    assert lines[0].startswith("task") and lines[-1].startswith("all")


def test_cli_compares_models_and_plots(tiny_family: list[Path], tmp_path: Path) -> None:
    (tmp_path / "c.jsonl").write_text(
        "\n".join(json.dumps({"id": d.id, "text": d.text}) for d in DOCS)
    )
    models = [a for f in tiny_family for a in ("--model", str(f))]
    result = run_cli(
        "tasks",
        "c.jsonl",
        *models,
        "--cache-dir",
        "cache",
        "--plot",
        "--format",
        "csv",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    table = pl.read_csv(result.stdout.split("\n\n")[0].encode())
    assert table["model"].n_unique() == 3 and "delta_mean_nll" in table.columns
    assert "per-task loss against model size" in result.stdout and "\x1b[" not in result.stdout


def test_cli_bad_input(tiny_model_dir: Path, tmp_path: Path, scored) -> None:
    (tmp_path / "c.txt").write_text(DOCS[0].text)
    common = ("--model", str(tiny_model_dir), "--cache-dir", "cache")
    bad = run_cli("tasks", "c.txt", *common, "--task", "gramar", cwd=tmp_path)
    assert (
        bad.returncode == 2
        and "--task gramar: no such task" in bad.stderr
        and "Traceback" not in bad.stderr
    )
    nowhere = run_cli("tasks", "c.txt", *common, "--out", "missing/dir/t.csv", cwd=tmp_path)
    assert nowhere.returncode == 2 and "cannot write" in nowhere.stderr
    write_table(scored.table, tmp_path / "other.parquet", scored.settings)
    mixed = run_cli("tasks", "c.txt", *common, "--from", "other.parquet", cwd=tmp_path)
    assert mixed.returncode == 2 and "is a table of another corpus" in mixed.stderr
    (tmp_path / "keep.md").write_text("mine")
    kept = run_cli("tasks", "c.txt", *common, "--out", "keep.md", cwd=tmp_path)
    assert kept.returncode == 2 and (tmp_path / "keep.md").read_text() == "mine"


def test_tasks_with_human_labels(scored, tmp_path: Path) -> None:
    from inspector.labels.columns import Label
    from inspector.labels.store import Store

    db = tmp_path / "labels.sqlite"
    rows = scored.table.filter(pl.col("doc_id") == "a").head(6)
    with Store(db) as store:
        for row in rows.iter_rows(named=True):
            store.add(
                Label(scored.settings["corpus_hash"], "a", DOCS[0].content_hash, row["char_start"], row["char_end"],
                      row["token"], "grammar", "ann")
            )  # fmt: skip
    write_table(scored.table, tmp_path / "t.parquet", scored.settings)
    both = run_cli(
        "tasks",
        "--from",
        "t.parquet",
        "--labels",
        "both",
        "--db",
        str(db),
        "--format",
        "csv",
        cwd=tmp_path,
    )
    assert both.returncode == 0, both.stderr
    table = pl.read_csv(both.stdout.encode())
    human = table.filter(pl.col("labels") == "human")
    assert human.filter(pl.col("task") == "grammar")["tokens"].to_list() == [6]
    assert (
        table.filter((pl.col("labels") == "heuristic") & (pl.col("task") == "all"))["tokens"][0]
        == scored.table.height
    )
    # for people: one run, its tasks by two label sources, each block named by its source
    page = run_cli(
        "tasks", "--from", "t.parquet", "--labels", "both", "--db", str(db), cwd=tmp_path
    )
    assert page.returncode == 0, page.stderr
    assert "#2" not in page.stdout and "repeated" not in page.stdout, page.stdout
    assert "delta" not in page.stdout and "labels heuristic and human" in page.stdout, page.stdout
    missing = run_cli("tasks", "--from", "t.parquet", "--labels", "human", cwd=tmp_path)
    assert missing.returncode == 2 and "--db FILE" in missing.stderr
