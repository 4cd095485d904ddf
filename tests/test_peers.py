"""`inspector bench --peers` and `--lengths`: the documents every peer gets, the peers' numbers
against inspector's on the same model, the arithmetic of the tables."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from inspector.bench import peer_engines as engines
from inspector.bench.lengths import positions_per_token, strides
from inspector.bench.peers import (
    _agreement,
    _inspector_scoring,
    format_peers,
    licence_texts,
    peer_documents,
)
from inspector.lm.config import ScoreConfig

DOC_TOKENS = 40  # the tiny model's context is 64


@pytest.fixture(scope="module")
def docs(tiny_lm):
    return peer_documents(tiny_lm, 600, doc_tokens=DOC_TOKENS)[0]


def test_peer_documents_are_whole_paragraphs_that_fit_one_window(tiny_lm, docs) -> None:
    texts, _ = licence_texts()
    paragraphs = {p.strip("\n") for t in texts for p in t.split("\n\n") if p.strip()}
    assert sum(len(d.ids) for d in docs) >= 600
    for d in docs:
        assert 0 < len(d.ids) <= DOC_TOKENS
        assert d.ids.tolist() == tiny_lm.tokenizer(d.text, add_special_tokens=False)["input_ids"]
        assert all(p in paragraphs for p in d.text.split("\n\n"))


def test_plain_forward_gives_inspector_numbers(tiny_lm, docs) -> None:
    ours = _inspector_scoring(tiny_lm, ScoreConfig())(docs)
    theirs = engines.transformers_forward(tiny_lm)(docs)
    for a, b, d in zip(ours, theirs, docs, strict=True):
        assert len(a) == len(b) == len(d.ids)
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.skipif(importlib.util.find_spec("minicons") is None, reason="minicons not installed")
def test_minicons_gives_inspector_numbers(tiny_lm, docs) -> None:
    ours = _inspector_scoring(tiny_lm, ScoreConfig())(docs)
    theirs = engines.minicons_scores(tiny_lm)(docs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
    assert tiny_lm.tokenizer.pad_token is None  # minicons set a pad token on its own copy


@pytest.mark.skipif(importlib.util.find_spec("lm_eval") is None, reason="lm-eval not installed")
def test_lm_eval_rolling_gives_inspector_sums(tiny_lm, docs) -> None:
    ours = _inspector_scoring(tiny_lm, ScoreConfig())(docs)
    theirs = engines.lm_eval_rolling(tiny_lm, window=64)(docs)
    assert [len(x) for x in theirs] == [1] * len(docs)
    np.testing.assert_allclose([a.sum() for a in ours], [b[0] for b in theirs], atol=1e-3)


def test_gguf_peers_need_a_gguf_model(tiny_lm) -> None:
    with pytest.raises(engines.PeerMissing, match="GGUF"):
        engines.gguf_file(tiny_lm)


def test_agreement_per_token_and_per_document(docs) -> None:
    ref = [np.full(len(d.ids), 2.0) for d in docs]
    n = sum(len(d.ids) for d in docs)
    same = _agreement(ref, docs, None)
    assert same["nll_per_token"] == pytest.approx(2.0) and "total_diff_per_token" not in same
    shifted = [x + 0.5 for x in ref]
    got = _agreement(shifted, docs, np.concatenate(ref))
    assert got["total_diff_per_token"] == pytest.approx(0.5)
    assert got["max_abs_diff"] == pytest.approx(0.5) and got["mean_abs_diff"] == pytest.approx(0.5)
    sums = [np.array([x.sum() + 1.0]) for x in ref]  # lm-eval: one sum per document
    got = _agreement(sums, docs, np.concatenate(ref))
    assert got["total_diff_per_token"] == pytest.approx(len(docs) / n)
    assert "max_abs_diff" not in got


def test_peers_table_names_skips_and_ratios() -> None:
    report = {
        "model": "m", "tokens": 1000, "documents": 2, "text": "t", "threads": 2,
        "torch": "2.x", "repeats": 1,
        "rows": [
            {"way": "inspector score", "weights": "float32", "tok_s": 500.0, "nll_per_token": 2.0},
            {"way": "peer", "weights": "int8", "tok_s": 750.0, "nll_per_token": 2.1,
             "total_diff_per_token": 0.1, "max_abs_diff": 3.0},
            {"way": "absent", "weights": "float32", "skipped": "absent is not installed"},
        ],
    }  # fmt: skip
    text = format_peers(report)
    assert "1.50x" in text and "+1.00e-01" in text and "3.00e+00" in text
    assert "absent" in text and "skipped: absent is not installed" in text


def test_positions_per_token_counts_recomputed_context() -> None:
    assert positions_per_token(2048, 2048, 1024) == 1.0  # one window
    assert positions_per_token(4096, 2048, 1024) == 1.5  # 2048 + 2 x 2048 positions
    assert positions_per_token(4096, 2048, 2048) == 1.0  # disjoint windows
    assert strides(2048) == [1024, 1536, 1792]
