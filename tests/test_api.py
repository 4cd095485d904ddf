"""The Python API (issue 17): `import inspector` in a notebook gives DataFrames, by the same
code paths as the command line; and `inspector examples`, from a number to its targets."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import inspector
from conftest import run_cli
from corpora import Document

TEXTS = {
    "baku": "The capital of Azerbaijan is Baku. The capital of France is Paris.",
    "biden": "Biden married Neilia Hunter, a student.",
}


def test_score_is_the_command_lines_table(tiny_model_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    table = inspector.score(TEXTS, str(tiny_model_dir), device="cpu", cache_dir=cache)
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in TEXTS.items()))
    out = tmp_path / "t.parquet"
    done = run_cli("score", str(corpus), "--model", str(tiny_model_dir), "--cache-dir",
                   str(tmp_path / "other-cache"), "--device", "cpu", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert table.equals(pl.read_parquet(out))  # the same rows, scored apart
    words = inspector.score(TEXTS, str(tiny_model_dir), device="cpu", cache_dir=cache, unit="word")
    assert words["pieces"].sum() == table.height
    assert abs(words["nll"].sum() - table["nll"].sum()) < 1e-9
    # inputs: a text, a list, documents, a file (as a Path)
    one = inspector.documents("just a text")
    assert [(d.id, d.text) for d in one] == [("text-0", "just a text")]
    assert [d.id for d in inspector.documents([Document("x", "y"), corpus])] == [
        "x",
        "baku",
        "biden",
    ]
    assert inspector.read(out).equals(table)


def test_tasks_examples_and_compare(tiny_family: list[Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    small, large = (
        inspector.score(TEXTS, str(m), device="cpu", cache_dir=cache) for m in tiny_family[::2]
    )
    by_task = inspector.tasks(small)
    everything = by_task.filter(pl.col("task") == "all").row(0, named=True)
    assert abs(everything["mean_nll"] - small["nll"].mean()) < 1e-12  # type: ignore[operator]
    worst = inspector.examples(small, task="world_knowledge", top=3, texts=TEXTS)
    assert worst.height == 3 and (worst["task"] == "world_knowledge").all()
    assert worst["nll"].to_list() == sorted(worst["nll"].to_list(), reverse=True)
    top = (
        small.filter(pl.col("task") == "world_knowledge")
        .sort("nll", descending=True)
        .row(0, named=True)
    )
    first = worst.row(0, named=True)
    assert (first["doc_id"], first["pos"]) == (top["doc_id"], top["pos"])
    text = TEXTS[first["doc_id"]]  # the context is the text around the target
    assert text[: top["char_end"]].endswith(first["left"] + first["target"])
    assert text[top["char_end"] :].startswith(first["right"])
    changes = inspector.compare({"small": small, "large": large})
    assert set(changes["model"]) == {"large"}
    tasks = changes.filter(pl.col("task") != "all")
    assert (
        abs(
            tasks["contribution"].sum()
            - changes.filter(pl.col("task") == "all")["delta_mean_nll"][0]
        )
        < 1e-12
    )
    units = inspector.compare_units([small, large])
    assert {"nll run 1", "nll run 2", "delta"} <= set(units.columns)


def test_probe_from_python(tiny_model_dir: Path, tmp_path: Path) -> None:
    answers = inspector.probe("The capital of Azerbaijan is", [" Baku", " London"],
                              str(tiny_model_dir), device="cpu", cache_dir=tmp_path)  # fmt: skip
    assert answers["candidate"].to_list() == [" Baku", " London"]
    assert ((answers["prob"] - (-answers["nll"]).exp()).abs() < 1e-9).all()
    results = inspector.probes(model=str(tiny_model_dir), device="cpu", cache_dir=tmp_path)
    assert results.height == 9 and set(results["won"]) <= {True, False}
    with pytest.raises(AttributeError):
        inspector.no_such_function  # noqa: B018


def test_examples_command(tiny_model_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in TEXTS.items()))
    common = [str(corpus), "--model", str(tiny_model_dir), "--cache-dir", str(tmp_path / "cache")]
    lines = run_cli("examples", *common, "--task", "world_knowledge", "--top", "4")
    assert lines.returncode == 0, lines.stderr
    shown = lines.stdout.splitlines()
    assert len(shown) == 4 and all("world_knowledge" in line and "[" in line for line in shown)
    out = tmp_path / "ex.jsonl"
    done = run_cli("examples", *common, "--min-loss", "5", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert rows and all(r["nll"] >= 5 for r in rows)
    assert {"left", "target", "right", "rank", "task_reason"} <= set(rows[0])
    unknown = run_cli("examples", *common, "--task", "nonsense")
    assert unknown.returncode == 2 and "no such task" in unknown.stderr


def test_layers_from_python(tiny_model_dir: Path, tmp_path: Path) -> None:
    """inspector.layers: per task and layer, the last layer's loss is the run's own."""
    texts = ["Biden married Neilia Hunter, a student.", "The Danube flows into the Black Sea."]
    table = inspector.score(texts, str(tiny_model_dir), device="cpu", cache_dir=tmp_path)
    out = inspector.layers(texts, str(tiny_model_dir), device="cpu", cache_dir=tmp_path)
    every = out.filter(out["task"] == "all").sort("layer")
    assert every["tokens"][0] == table.height
    assert abs(every["mean_nll"][-1] - table["nll"].mean()) < 1e-5
    assert set(out["task"]) == {*table["task"], "all"}


def test_context_from_python(tiny_model_dir: Path, tmp_path: Path) -> None:
    """inspector.context: per task, its targets (the tasks table's) and shares up to 1."""
    texts = ["Biden married Neilia Hunter, a student.", "The Danube flows into the Black Sea."]
    table = inspector.score(texts, str(tiny_model_dir), device="cpu", cache_dir=tmp_path)
    out = inspector.context(texts, str(tiny_model_dir), sample=None, device="cpu",
                            cache_dir=tmp_path)  # fmt: skip
    assert out.filter(out["task"] == "all")["tokens"][0] == table.height
    assert set(out["task"]) == {*table["task"], "all"}
    assert (out["share_within_64"] <= 1 + 1e-12).all() and (out["share_within_1"] >= 0).all()
