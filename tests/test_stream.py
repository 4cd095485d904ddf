"""Streaming into Parquet parts: same numbers as in memory, resume after an interruption,
shards that add up, and refusals when a folder holds another run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from corpora import Document, iter_corpus
from corpora.errors import CorpusError
from inspector.errors import InspectorError
from inspector.lm.config import ScoreConfig
from inspector.run.parts import group_docs, parse_shard, score_to_parts
from inspector.run.score import score_corpus
from inspector.run.stored import open_table
from inspector.tables.tasks import summarize
from taggers.rules import load_rules

DOCS = [
    Document(
        f"d{i}", f"Document {i} says that the river number {i} flows into the sea. " * (1 + i % 3)
    )
    for i in range(12)
]


def read_parts(folder: Path) -> pl.DataFrame:
    return open_table(str(folder)).frame.collect().sort("doc_id", "pos")


def test_parts_equal_the_in_memory_table(tiny_lm, tmp_path: Path) -> None:
    result = score_to_parts(DOCS, tiny_lm, ScoreConfig(), load_rules(), tmp_path, part_chars=300)
    assert result.written == len(result.parts) > 3 and result.documents == 12
    whole = score_corpus(DOCS, tiny_lm).table.sort("doc_id", "pos")
    parts = read_parts(tmp_path)
    assert parts["token_id"].to_list() == whole["token_id"].to_list()
    np.testing.assert_allclose(parts["nll"].to_numpy(), whole["nll"].to_numpy(), atol=1e-5)
    assert parts["task"].to_list() == whole["task"].to_list()


def test_an_interrupted_run_resumes(tiny_lm, tmp_path: Path) -> None:
    class Stop(Exception):
        pass

    def stop_after_two(parts: int, tokens: int) -> None:
        if parts == 2:
            raise Stop

    with pytest.raises(Stop):
        score_to_parts(
            DOCS, tiny_lm, ScoreConfig(), load_rules(), tmp_path, 300, progress=stop_after_two
        )
    manifest = json.loads((tmp_path / "manifest-s0of1.json").read_text())
    assert len(manifest["parts"]) == 2
    again = score_to_parts(DOCS, tiny_lm, ScoreConfig(), load_rules(), tmp_path, 300)
    assert again.resumed == 2 and again.written == len(again.parts) - 2
    assert read_parts(tmp_path)["doc_id"].n_unique() == 12
    finished = score_to_parts(DOCS, tiny_lm, ScoreConfig(), load_rules(), tmp_path, 300)
    assert finished.written == 0 and finished.resumed == len(finished.parts)


def test_shards_add_up_to_the_corpus(tiny_lm, tmp_path: Path) -> None:
    for i in range(3):
        score_to_parts(DOCS, tiny_lm, ScoreConfig(), load_rules(), tmp_path, 400, shard=(i, 3))
    whole = summarize(score_corpus(DOCS, tiny_lm).table.lazy(), "task")
    sharded = summarize(open_table(str(tmp_path)).frame, "task")
    assert sharded["tokens"].to_list() == whole["tokens"].to_list()
    np.testing.assert_allclose(
        sharded["mean_nll"].to_numpy(), whole["mean_nll"].to_numpy(), atol=1e-6
    )


def test_refusals(tiny_lm, tmp_path: Path) -> None:
    score_to_parts(DOCS, tiny_lm, ScoreConfig(), load_rules(), tmp_path, 300)
    with pytest.raises(InspectorError, match="cut at 300 characters"):
        score_to_parts(DOCS, tiny_lm, ScoreConfig(), load_rules(), tmp_path, 500)
    edited = [Document("d0", "Something else."), *DOCS[1:]]
    with pytest.raises(InspectorError, match="the corpus changed"):
        score_to_parts(edited, tiny_lm, ScoreConfig(), load_rules(), tmp_path, 300)
    more = [
        *DOCS,
        Document("extra", "One more document at the end of the corpus, long enough." * 9),
    ]
    with pytest.raises(InspectorError, match="other settings"):
        score_to_parts(more, tiny_lm, ScoreConfig(top_k=3), load_rules(), tmp_path, 300)
    for bad in ("2/2", "x/3", "1"):
        with pytest.raises(InspectorError, match="--shard"):
            parse_shard(bad)


def test_grouping_is_by_characters_and_skips_empty_documents() -> None:
    docs = [Document("a", "x" * 5), Document("b", ""), Document("c", "y" * 5), Document("d", "z")]
    assert [[d.id for d in g] for g in group_docs(docs, 6)] == [["a", "c"], ["d"]]


def test_jsonl_is_read_lazily(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text('{"text": "one"}\n{"text": "two"}\n{broken\n')
    docs = iter_corpus([path])
    assert next(docs).text == "one" and next(docs).text == "two"  # before the bad line is read
    with pytest.raises(CorpusError, match=r"big\.jsonl:3"):
        next(docs)


def test_cli_streams_parts_and_resumes(tiny_model_dir: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps({"id": d.id, "text": d.text}) for d in DOCS))
    args = [sys.executable, "-m", "inspector", "score", str(corpus), "--model", str(tiny_model_dir),
            "--cache-dir", str(tmp_path / "cache"), "--parts", str(tmp_path / "parts"), "--part-chars", "500"]  # fmt: skip
    first = subprocess.run([*args, "--shard", "0/2"], capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "shard 0/2: 6 documents" in first.stdout and "all" in first.stdout
    second = subprocess.run([*args, "--shard", "0/2"], capture_output=True, text=True, timeout=300)
    assert "0 scored now" in second.stdout
    other = subprocess.run([*args, "--shard", "1/2"], capture_output=True, text=True, timeout=300)
    assert other.returncode == 0 and "shard 1/2: 6 documents" in other.stdout
    assert read_parts(tmp_path / "parts")["doc_id"].n_unique() == 12
    # each shard's table is of its own parts; the folder's, of the whole corpus
    shard_all = [line.split() for line in other.stdout.splitlines() if line.startswith("all ")]
    assert shard_all, other.stdout
    assert "in shard 1/2's parts" in other.stdout and " 1 parts" not in other.stdout
    folder = subprocess.run([sys.executable, "-m", "inspector", "tasks", "--from", str(tmp_path / "parts")],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert folder.returncode == 0, folder.stderr
    assert "(12 documents)" in folder.stdout, folder.stdout  # the folder's corpus, not a part's
    whole = read_parts(tmp_path / "parts").height
    assert int(shard_all[0][1].replace(",", "")) < whole
    folder_all = [line.split() for line in folder.stdout.splitlines() if " all " in line]
    assert folder_all, folder.stdout
    assert int(folder_all[0][2].replace(",", "")) == whole  # labels, task, tokens
    bad = subprocess.run([*args, "--shard", "3/2"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--shard 3/2" in bad.stderr


def test_tags_of_a_part_are_computed_while_the_next_is_scored(
    tiny_lm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With tag workers, part k is written only after part k+1 is scored (its tags were
    computed by the workers meanwhile), and the parts equal a run without workers."""
    import inspector.run.parts as stream
    import taggers.workers as workers

    events: list[str] = []
    real_score, real_write = stream.score_untagged, stream.write_table

    def score(group, *args, **kwargs):  # type: ignore[no-untyped-def]
        events.append("score")
        return real_score(group, *args, **kwargs)

    def write(table, path, *args, **kwargs):  # type: ignore[no-untyped-def]
        events.append("write")
        return real_write(table, path, *args, **kwargs)

    monkeypatch.setattr(stream, "score_untagged", score)
    monkeypatch.setattr(stream, "write_table", write)
    monkeypatch.setattr(workers, "PARALLEL_CHARS", 0)  # these small parts use the workers too
    result = score_to_parts(
        DOCS, tiny_lm, ScoreConfig(), load_rules(), tmp_path / "two", 300, tag_workers=2
    )
    n = len(result.parts)
    assert n > 3
    assert events == ["score", "score", *["write", "score"] * (n - 2), "write", "write"]
    monkeypatch.setattr(workers, "PARALLEL_CHARS", 10**9)
    score_to_parts(DOCS, tiny_lm, ScoreConfig(), load_rules(), tmp_path / "one", 300)
    assert read_parts(tmp_path / "two").equals(read_parts(tmp_path / "one"))
