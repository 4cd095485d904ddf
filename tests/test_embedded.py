"""The real embedded model: conversion and cache, and parity with transformers' own GGUF load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from corpora import bundled_path, read_corpus
from inspector.lm.loading import load_model
from inspector.lm.sources import EMBEDDED_FILE, embedded_gguf
from inspector.run.tokens import TableScorer as Scorer
from reference import full_sequence_scores

pytestmark = pytest.mark.embedded


def test_embedded_model_converts_once_then_loads_warm(embedded_lm, embedded_cache: Path) -> None:
    assert embedded_lm.converted  # the session's cache started empty
    folders = list((embedded_cache / "models").iterdir())
    assert len(folders) == 1 and (folders[0] / "model.safetensors").is_file()
    warm = load_model("", embedded_cache, device="cpu")
    assert not warm.converted
    assert warm.source.identity == embedded_lm.source.identity
    assert warm.prefix_token == "<|im_start|>" and warm.prefix_kind == "bos"
    assert warm.n_params == embedded_lm.n_params > 100_000_000


def test_damaged_conversion_is_rebuilt(embedded_lm, embedded_cache: Path, tmp_path: Path) -> None:
    import shutil

    cache = tmp_path / "cache"
    shutil.copytree(embedded_cache, cache)
    weights = next((cache / "models").iterdir()) / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # a crash in the middle of a write
    lm = load_model("", cache, device="cpu")
    assert lm.converted
    assert weights.stat().st_size > 100_000_000


def test_parity_with_a_plain_transformers_forward_pass(embedded_lm) -> None:
    """Every nll, rank and entropy of the bundled corpus equals a plain forward pass of
    transformers' own GGUF load (not our converted copy) within 1e-4."""
    from transformers import AutoModelForCausalLM

    gguf = embedded_gguf()
    reference = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=EMBEDDED_FILE, dtype="float32"
    )
    reference.eval()
    docs = read_corpus([bundled_path()])
    table = Scorer(embedded_lm).score(docs)
    assert table.height > 2000
    for doc in docs:
        rows = table.filter(pl.col("doc_id") == doc.id).sort("pos")
        ref = full_sequence_scores(reference, embedded_lm.prefix_id, rows["token_id"].to_list())
        np.testing.assert_allclose(rows["nll"].to_numpy(), ref["nll"].numpy(), atol=1e-4, rtol=0)
        np.testing.assert_allclose(
            rows["entropy"].to_numpy(), ref["entropy"].numpy(), atol=1e-4, rtol=0
        )
        assert rows["rank"].to_list() == ref["rank"].tolist(), doc.id


def test_biden_sentence_tokens_and_spans(embedded_lm) -> None:
    text = "Biden married Neilia Hunter, a student."
    table = Scorer(embedded_lm).score(read_corpus([bundled_path() / "probes.jsonl"]))
    rows = table.filter(pl.col("doc_id") == "probe-biden").sort("pos")
    assert rows["token"].to_list() == [
        "B",
        "iden",
        " married",
        " Ne",
        "ilia",
        " Hunter",
        ",",
        " a",
        " student",
        ".",
    ]
    spans = [text[s:e] for s, e in zip(rows["char_start"], rows["char_end"], strict=True)]
    assert spans == rows["token"].to_list()  # raw offsets keep the leading space


def test_biden_sentence_is_tagged_through_the_pipeline(embedded_lm) -> None:
    from inspector.run.score import score_corpus

    docs = [d for d in read_corpus([bundled_path() / "probes.jsonl"]) if d.id == "probe-biden"]
    table = score_corpus(docs, embedded_lm).table.sort("pos")
    got = {
        tok: (task, reason, initial)
        for tok, task, reason, initial in table.select(
            "token", "task", "task_reason", "word_initial"
        ).iter_rows()
    }
    assert got[" Hunter"] == ("world_knowledge", "named_entity", True)
    assert got[","] == ("punctuation", "punctuation", True)
    assert got[" a"] == ("grammar", "function_word", True)
    assert got[" student"] == ("arbitrary", "content_word", True)
    assert got[" Ne"][:2] == got["ilia"][:2] == ("world_knowledge", "named_entity")
    assert got[" Ne"][2] and not got["ilia"][2]  # the continuation piece takes its word's task
    assert table["word"].to_list()[3:5] == ["Neilia", "Neilia"]


def test_a_gguf_path_uses_the_same_converted_copy(embedded_lm, embedded_cache: Path) -> None:
    path = str(embedded_gguf())
    lm = load_model(path, embedded_cache, device="cpu")
    assert lm.source.kind == "gguf" and lm.source.identity == embedded_lm.source.identity
    assert not lm.converted  # same file, same hash: the cached conversion is reused
