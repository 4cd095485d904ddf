"""Word units (issue 16): a word's loss is the sum of its pieces', and the words add up."""

from __future__ import annotations

import polars as pl

from corpora import Document
from inspector.run.score import score_corpus
from inspector.tables.words import word_units

TEXT = "Café naïve: don't pay 3.14 for 日本語, she said.\n\nWe're walking home."


def test_words_add_up_to_the_run_and_keep_text_order(tiny_lm) -> None:  # type: ignore[no-untyped-def]
    docs = [Document("b", TEXT), Document("a", "Biden married Neilia Hunter, a student.")]
    tokens = score_corpus(docs, tiny_lm).table
    words = word_units(tokens.lazy()).collect()
    # every target in exactly one unit: pieces and losses add up, per document and in all
    assert words["pieces"].sum() == tokens.height
    per_doc = tokens.group_by("doc_id").agg(pl.col("nll").sum()).sort("doc_id")
    summed = words.group_by("doc_id").agg(pl.col("nll").sum()).sort("doc_id")
    assert (per_doc["nll"] - summed["nll"]).abs().max() < 1e-9
    # corpus order kept (b before a), units numbered from 0 in each document
    assert words["doc_id"].unique(maintain_order=True).to_list() == ["b", "a"]
    assert words.filter(pl.col("doc_id") == "a")["pos"].to_list() == list(
        range(words.filter(pl.col("doc_id") == "a").height)
    )
    b = words.filter(pl.col("doc_id") == "b")
    for row in b.iter_rows(named=True):  # each unit's span is a word of the text (or space)
        assert (
            TEXT[row["char_start"] : row["char_end"]] == row["word"] or row["task"] == "whitespace"
        )
    assert {"Café", "naïve", "日本語", "3.14"} <= set(b["word"])
    # a word's pieces: its loss is theirs summed, its rank the worst of theirs
    word = b.filter(pl.col("word") == "日本語").row(0, named=True)
    pieces = tokens.filter((pl.col("doc_id") == "b") & (pl.col("word_start") == word["char_start"]))
    assert word["pieces"] == pieces.height > 1
    assert abs(word["nll"] - pieces["nll"].sum()) < 1e-9 and word["rank"] == pieces["rank"].max()


def test_score_and_tasks_by_word(tiny_model_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`score --unit word --out` writes word rows; `tasks --unit word` sums the same losses."""
    import json

    from conftest import run_cli

    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "b", "text": TEXT}) + "\n")
    common = [str(corpus), "--model", str(tiny_model_dir), "--cache-dir", str(tmp_path / "cache")]
    tokens, words = tmp_path / "t.parquet", tmp_path / "w.parquet"
    assert run_cli("score", *common, "--out", str(tokens)).returncode == 0
    done = run_cli("score", *common, "--unit", "word", "--out", str(words))
    assert done.returncode == 0, done.stderr
    t, w = pl.read_parquet(tokens), pl.read_parquet(words)
    assert w["pieces"].sum() == t.height and abs(w["nll"].sum() - t["nll"].sum()) < 1e-9
    table = run_cli("tasks", *common, "--unit", "word", "--format", "csv")
    assert table.returncode == 0, table.stderr
    rows = pl.read_csv(table.stdout.encode())
    everything = rows.filter(pl.col("task") == "all").row(0, named=True)
    assert everything["tokens"] == w.height  # word units counted
    assert abs(everything["mean_nll"] * w.height - t["nll"].sum()) < 1e-6
