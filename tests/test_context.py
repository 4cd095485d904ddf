"""Per task, how far back predictions lean (issue 35): the distance profile of one target's
attribution, by hand; the per-task table's identities (tokens per task equal the tasks
table's; shares grow with the distance, up to 1); the command's output and refusals."""

from __future__ import annotations

import json
import math
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from conftest import cli_here
from corpora import Document
from inspector.run.context import CONTEXT_COLUMNS, WITHIN, distance_profile, task_context

DOCS = [
    Document("biden", "Biden married Neilia Hunter, a student. The cat sat on the mat."),
    Document("danube", "The Danube flows into the Black Sea. It is long, and it is old."),
]


def test_a_targets_distance_profile_by_hand() -> None:
    # input positions 0..5, predicted from position 5: the distances are 5, 4, 3, 2, 1
    scores = np.array([np.nan, 1.0, 0.0, -2.0, 3.0, 4.0])  # position 0 is never counted
    half, shares, n = distance_profile(scores, 5)
    assert n == 5 and half == 2.0  # |4| + |3| = 7 of 10 within 2 tokens: half lies within 2
    assert shares.tolist() == pytest.approx(
        [0.4, 0.9, 1.0, 1.0]
    )  # within 1, 4 (4+3+2 of 10), 16, 64
    later = np.array([np.nan, 1.0, 1.0, 9.0, 5.0])  # position 4 is after the target: ignored
    assert distance_profile(later, 2)[1][0] == pytest.approx(0.5)


def _tagged(lm) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    from inspector.lm.config import ScoreConfig
    from inspector.run.score import tag_table
    from inspector.run.tokens import TableScorer
    from taggers.rules import load_rules
    from taggers.tagger import TaskTagger

    table = TableScorer(lm, ScoreConfig(window=12, stride=4)).score(DOCS)
    return pl.concat([table, tag_table(TaskTagger(load_rules()), DOCS, table)], how="horizontal")


@pytest.mark.parametrize("method", ["gradient", "occlusion"])
def test_per_task_context_keeps_the_tables_identities(tiny_lm, method: str) -> None:  # type: ignore[no-untyped-def]
    table = _tagged(tiny_lm)  # rolling windows of 12: no context is longer than 11
    out = task_context(tiny_lm, table, 12, 4, sample=None, method=method)
    assert tuple(out.columns) == CONTEXT_COLUMNS
    counts = dict(table.group_by("task").len().iter_rows())
    assert dict(out.filter(pl.col("task") != "all").select("task", "tokens").iter_rows()) == counts
    assert out.filter(pl.col("task") == "all")["tokens"][0] == table.height
    shares = out.select([f"share_within_{d}" for d in WITHIN]).to_numpy()
    assert (np.diff(shares, axis=1) >= -1e-12).all() and (shares <= 1 + 1e-12).all()
    assert np.allclose(shares[:, -1], 1.0)  # every context is shorter than 64 tokens
    assert (out["mean_context"] <= 11).all() and (out["median_distance"] >= 1).all()


def test_progress_comes_after_every_target(tiny_lm) -> None:  # type: ignore[no-untyped-def]
    """Issue 43, item 4: progress is said per target, not per window (a long window of many
    sampled targets went minutes without a word after an estimate of a minute)."""
    table = _tagged(tiny_lm)
    calls: list[tuple[int, int]] = []
    task_context(tiny_lm, table, 12, 4, sample=None, progress=lambda d, t: calls.append((d, t)))
    assert [d for d, _ in calls] == list(range(1, table.height + 1))
    assert {t for _, t in calls} == {table.height}


def test_context_command(tiny_model_dir: Path, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    run_cli = partial(cli_here, capsys)
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps({"id": d.id, "text": d.text}) for d in DOCS))
    common = [str(corpus), "--model", str(tiny_model_dir), "--cache-dir", str(tmp_path / "cache")]
    page = run_cli("context", *common, "--sample", "12", "--plot", "context.svg")
    assert page.returncode == 0, page.stderr
    assert "by gradient x input" in page.stdout and "12 of " in page.stdout, page.stdout
    header = next(line for line in page.stdout.splitlines() if line.startswith("task "))
    assert header.split() == [c for c in CONTEXT_COLUMNS]
    assert (tmp_path / "context.svg").read_text().lstrip().startswith("<?xml")
    data = run_cli("context", *common, "--sample", "12", "--format", "csv")
    table = pl.read_csv(data.stdout.encode())
    assert set(table["method"]) == {"gradient"} and set(table["sampled"]) == {12}
    assert table.filter(pl.col("task") == "all")["tokens"][0] == 12
    assert not any(math.isnan(v) for v in table["share_within_1"])
    bad = run_cli("context", *common, "--format", "parquet")
    assert bad.returncode == 2 and "--out FILE" in bad.stderr and "Traceback" not in bad.stderr
