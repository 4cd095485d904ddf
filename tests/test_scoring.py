"""Scoring with a tiny random-weight model: parity with a plain forward pass, windows, batching."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from corpora import Document
from inspector.lm.config import ScoreConfig
from inspector.lm.postprocess import postprocess
from inspector.run.tokens import TableScorer as Scorer
from inspector.tables.schema import SCORE_SCHEMA
from reference import full_sequence_scores, reference_scores

DOCS = [
    Document("a", "Biden married Neilia Hunter, a student."),
    Document("b", "Café 日本 😀  two  spaces\n\nnew"),
    Document("empty", ""),
    Document("c", "The capital of Azerbaijan is Baku."),
]


def _doc(table: pl.DataFrame, doc_id: str) -> pl.DataFrame:
    return table.filter(pl.col("doc_id") == doc_id).sort("pos")


def test_table_has_the_design_schema(tiny_lm) -> None:
    table = Scorer(tiny_lm).score(DOCS)
    assert dict(table.schema) == SCORE_SCHEMA
    assert table["doc_id"].unique(maintain_order=True).to_list() == [
        "a",
        "b",
        "c",
    ]  # empty doc: no rows


def test_scores_match_a_plain_forward_pass(tiny_lm) -> None:
    table = Scorer(tiny_lm, ScoreConfig(window=64)).score(DOCS)
    for doc in DOCS:
        rows = _doc(table, doc.id)
        tokens = rows["token_id"].to_list()
        if not tokens:
            continue
        ref = full_sequence_scores(tiny_lm.model, tiny_lm.prefix_id, tokens)
        np.testing.assert_allclose(rows["nll"].to_numpy(), ref["nll"].numpy(), atol=1e-4)
        np.testing.assert_allclose(rows["entropy"].to_numpy(), ref["entropy"].numpy(), atol=1e-4)
        assert rows["rank"].to_list() == ref["rank"].tolist()
        assert rows["pos"].to_list() == list(range(len(tokens)))


def test_prob_and_top_k_agree_with_rank(tiny_lm) -> None:
    table = Scorer(tiny_lm, ScoreConfig(top_k=5)).score(DOCS)
    np.testing.assert_allclose(
        table["prob"].to_numpy(), np.exp(-table["nll"].to_numpy()), rtol=1e-12
    )
    for row in table.iter_rows(named=True):
        probs = row["top_probs"]
        assert len(row["top_ids"]) == len(row["top_tokens"]) == len(probs) == 5
        assert probs == sorted(probs, reverse=True)
        assert sum(probs) <= 1 + 1e-5
        if row["rank"] <= 5:
            assert row["top_ids"][row["rank"] - 1] == row["token_id"]
            assert probs[row["rank"] - 1] == pytest.approx(row["prob"], rel=1e-4)
        else:
            assert row["token_id"] not in row["top_ids"]
            assert row["prob"] <= probs[-1] + 1e-7


def test_spans_point_into_the_text(tiny_lm) -> None:
    table = Scorer(tiny_lm).score(DOCS)
    for doc in DOCS:
        rows = _doc(table, doc.id)
        if rows.is_empty():
            continue
        starts, ends = rows["char_start"].to_list(), rows["char_end"].to_list()
        assert all(0 <= s <= e <= len(doc.text) for s, e in zip(starts, ends, strict=True))
        assert starts == sorted(starts)
        assert ends[-1] == len(doc.text)
        for token, s, e in zip(rows["token"], starts, ends, strict=True):
            if "<0x" not in token:  # whole characters: the span is the token's own text
                assert doc.text[s:e] == token
    b = _doc(table, "b")
    pieces = b.filter(pl.col("token").str.contains("<0x", literal=True))
    assert pieces.height > 0  # 日本 and the emoji split into byte pieces that share a character
    assert not b["token"].str.contains("\ufffd").any()  # shown as their bytes (<0xE6>)
    for s, e in zip(pieces["char_start"], pieces["char_end"], strict=True):
        assert any(ord(c) > 0x7F for c in DOCS[1].text[s:e])


def test_batching_does_not_change_scores(tiny_lm) -> None:
    together = Scorer(tiny_lm).score(DOCS)
    for doc in DOCS:
        alone = Scorer(tiny_lm).score([doc])
        expected = _doc(together, doc.id)
        assert alone["token_id"].to_list() == expected["token_id"].to_list()
        np.testing.assert_allclose(alone["nll"].to_numpy(), expected["nll"].to_numpy(), atol=1e-5)
        assert alone["rank"].to_list() == expected["rank"].to_list()


def test_long_document_is_windowed(tiny_lm) -> None:
    text = " ".join(f"word{i} is followed by another, then a full stop." for i in range(40))
    doc = Document("long", text)
    window, stride = 32, 12
    scorer = Scorer(
        tiny_lm, ScoreConfig(window=window, stride=stride, batch_tokens=64, chunk_rows=7)
    )
    rows = scorer.score([doc])
    tokens = rows["token_id"].to_list()
    n = len(tokens)
    assert n > 4 * window
    assert rows["pos"].to_list() == list(range(n))  # every token predicted exactly once

    first = full_sequence_scores(tiny_lm.model, tiny_lm.prefix_id, tokens[:window])
    np.testing.assert_allclose(rows["nll"].to_numpy()[:window], first["nll"].numpy(), atol=1e-4)
    assert rows["rank"].to_list()[:window] == first["rank"].tolist()
    assert rows["ctx_len"].to_list()[:window] == list(range(1, window + 1))

    # a later target equals a plain forward pass over exactly the window that scored it
    seq = [tiny_lm.prefix_id, *tokens]
    ctx = rows["ctx_len"].to_list()
    assert min(ctx[window:]) >= window - stride + 1
    for pos in (window, window + 5, n - 1):
        inputs = seq[pos + 1 - ctx[pos] : pos + 2]  # its context, then the target itself
        ref = reference_scores(tiny_lm.model, inputs)
        assert rows["nll"][pos] == pytest.approx(ref["nll"][-1].item(), abs=1e-4)
        assert rows["rank"][pos] == ref["rank"][-1].item()


def test_postprocess_matches_softmax_and_sorting() -> None:
    import torch

    torch.manual_seed(0)
    logits = torch.randn(9, 1000) * 4
    logits[0, 3] = logits[0, 7] = logits[0].max() + 1  # a tie at the top ...
    logits[1] = logits[0]  # ... asked about from both sides
    targets = torch.tensor([3, 7, 0, 1, 2, 999, 500, 4, 5])
    res = postprocess(logits.clone(), targets, k=10)
    logp = torch.log_softmax(logits, -1)
    order = torch.argsort(logits, dim=-1, descending=True, stable=True)
    for i, t in enumerate(targets.tolist()):
        assert res["nll"][i].item() == pytest.approx(-logp[i, t].item(), abs=1e-5)
        assert res["rank"][i].item() == int((logits[i] > logits[i, t]).sum()) + 1
        assert res["entropy"][i].item() == pytest.approx(
            -(logp[i].exp() * logp[i]).sum().item(), abs=1e-4
        )
        assert set(res["top_ids"][i].tolist()) == set(order[i, :10].tolist())
    assert res["rank"][0].item() == res["rank"][1].item() == 1  # ties share the better rank


@pytest.mark.parametrize(
    ("config", "name"),
    [
        (ScoreConfig(window=1000), "--window"),
        (ScoreConfig(window=32, stride=33), "--stride"),
        (ScoreConfig(window=32, stride=0), "--stride"),
        (ScoreConfig(top_k=0), "--top-k"),
    ],
)
def test_bad_settings_are_clear_errors(tiny_lm, config: ScoreConfig, name: str) -> None:
    from inspector.errors import InspectorError

    with pytest.raises(InspectorError, match=name):
        Scorer(tiny_lm, config)


def test_out_of_memory_retries_smaller_batches(tiny_lm, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from inspector.errors import ModelError

    expected = Scorer(tiny_lm).score(DOCS)
    real = Scorer._run_batch
    sizes: list[int] = []

    def small_only(self, batch, *args):  # type: ignore[no-untyped-def]
        sizes.append(len(batch.items))
        if len(batch.items) > 1:
            raise torch.OutOfMemoryError("simulated")
        return real(self, batch, *args)

    monkeypatch.setattr(Scorer, "_run_batch", small_only)
    scorer = Scorer(tiny_lm)
    got = scorer.score(DOCS)
    assert max(sizes) > 1 and sizes[-1] == 1  # it tried the big batch, then halves
    assert sizes.count(max(sizes)) == 1  # later batches were cut before they could fail
    assert scorer.token_limit < scorer.config.batch_tokens
    np.testing.assert_allclose(got["nll"].to_numpy(), expected["nll"].to_numpy(), atol=1e-5)

    def never(self, batch, *args):  # type: ignore[no-untyped-def]
        raise torch.OutOfMemoryError("simulated")

    monkeypatch.setattr(Scorer, "_run_batch", never)
    with pytest.raises(ModelError, match="out of memory on cpu for one window"):
        Scorer(tiny_lm).score(DOCS)
