"""`compare --window 32 --window full` recomputed by hand from two plain `score` tables: the
per-task change and each task's contribution are what the tables say, nothing else."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from conftest import run_cli

TEXT = Path("/usr/share/common-licenses/GPL-3")


def test_compare_is_recomputed_from_two_score_tables(tiny_model_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT.read_text()[:6000] if TEXT.exists() else "The cat sat. " * 400)
    common = [str(corpus), "--model", str(tiny_model_dir), "--cache-dir", str(tmp_path / "c")]
    done = run_cli("compare", *common, "--window", "32", "--window", "full", "--format", "csv")
    assert done.returncode == 0, done.stderr
    got = pl.read_csv(io.StringIO(done.stdout)).sort("task")
    tables = []
    for window, name in (("32", "a"), ("64", "b")):  # full: the tiny model's 64 positions
        out = tmp_path / f"{name}.parquet"
        assert run_cli("score", *common, "--window", window, "--out", str(out)).returncode == 0
        tables.append(pl.read_parquet(out).select("doc_id", "pos", "task", "nll"))
    a, b = tables
    both = a.join(b, on=["doc_id", "pos"], suffix="_b")
    assert both.height == a.height == b.height and (both["task"] == both["task_b"]).all()
    change = both.with_columns(d=pl.col("nll_b") - pl.col("nll"))
    per = change.group_by("task").agg(
        units=pl.len(), first=pl.col("nll").mean(), then=pl.col("nll_b").mean(),
        improved=(pl.col("d") < -0.5).mean(), worsened=(pl.col("d") > 0.5).mean(),
    )  # fmt: skip
    per = pl.concat([per, change.select(
        task=pl.lit("all"), units=pl.len(), first=pl.col("nll").mean(),
        then=pl.col("nll_b").mean(), improved=(pl.col("d") < -0.5).mean(),
        worsened=(pl.col("d") > 0.5).mean(),
    ).cast(per.schema)]).sort("task")  # fmt: skip
    n = a.height
    assert got["task"].to_list() == per["task"].to_list()
    assert got["units"].to_list() == per["units"].to_list()
    for ours, theirs in (
        (got["unit_share"], per["units"] / n), (got["mean_nll_first"], per["first"]),
        (got["mean_nll"], per["then"]), (got["delta_mean_nll"], per["then"] - per["first"]),
        (got["contribution"], per["units"] / n * (per["then"] - per["first"])),
        (got["improved"], per["improved"]), (got["worsened"], per["worsened"]),
    ):  # fmt: skip
        assert (ours - theirs).abs().max() < 1e-9
    tasks = got.filter(pl.col("task") != "all")
    total = got.filter(pl.col("task") == "all")["delta_mean_nll"][0]
    assert abs(tasks["contribution"].sum() - total) < 1e-9  # contributions add up to the change
