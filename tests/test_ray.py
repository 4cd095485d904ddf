"""Scoring on Ray Data: a local Ray instance, the tiny model, two shard tasks into one folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from corpora import Document
from inspector.run.score import score_corpus
from inspector.run.stored import open_table
from inspector.tables.tasks import summarize

DOCS = [
    Document(f"d{i}", f"Document {i} says the river number {i} flows into the sea. " * (1 + i % 3))
    for i in range(10)
]


def test_ray_engine_scores_all_shards_into_one_folder(
    tiny_lm, tiny_model_dir: Path, tmp_path: Path
) -> None:
    pytest.importorskip(
        "ray", reason="the Ray extra is installed by `make test`; without it, --engine ray says so"
    )
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps({"id": d.id, "text": d.text}) for d in DOCS))
    args = [
        sys.executable, "-m", "inspector", "score", str(corpus), "--model", str(tiny_model_dir),
        "--cache-dir", str(tmp_path / "cache"), "--parts", str(tmp_path / "parts"), "--part-chars", "300",
        "--engine", "ray", "--workers", "2",
    ]  # fmt: skip
    result = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "shard 0/2: 5 documents" in result.stdout and "shard 1/2: 5 documents" in result.stdout
    whole = summarize(score_corpus(DOCS, tiny_lm).table.lazy(), "task")
    parts = summarize(open_table(str(tmp_path / "parts")).frame, "task")
    assert parts["tokens"].to_list() == whole["tokens"].to_list()
    np.testing.assert_allclose(
        parts["mean_nll"].to_numpy(), whole["mean_nll"].to_numpy(), atol=1e-5
    )
    again = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "0 parts scored now" in again.stdout  # resumed, nothing redone
