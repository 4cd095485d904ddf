"""`score --unit word` and `probe` against minicons on the same model and text: the numbers a
researcher would otherwise compute with it (minicons installs with `make test`'s set-up)."""

from __future__ import annotations

import copy
import importlib.util
import warnings

import numpy as np
import pytest

from corpora import Document
from inspector.lm.continuations import Asker
from inspector.run.score import score_corpus
from inspector.tables.words import word_units

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("minicons") is None, reason="minicons not installed"
)
PLAIN = "the cat sat on the mat and then the dog ran far away from the old house"
PUNCTUATED = "Biden married Neilia Hunter, a student. They had three children."


@pytest.fixture(params=["tiny_lm", "embedded_lm"])
def lm(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A random-weight model, and the real embedded one (where differences would show)."""
    return request.getfixturevalue(request.param)


def _minicons(lm):  # type: ignore[no-untyped-def]
    from minicons.scorer import IncrementalLMScorer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "tokenizer is changed by adding pad_token_id"
        return IncrementalLMScorer(lm.model, "cpu", tokenizer=copy.deepcopy(lm.tokenizer))


def _our_words(lm, text: str) -> list[tuple[str, float]]:  # type: ignore[no-untyped-def]
    table = score_corpus([Document(id="d", text=text)], lm).table
    words = word_units(table.lazy()).collect().sort("pos")
    return list(zip(words["word"], words["nll"], strict=True))


def test_word_surprisal_matches_minicons_word_by_word(lm) -> None:  # type: ignore[no-untyped-def]
    scorer = _minicons(lm)
    (theirs,) = scorer.word_score_tokenized(
        [PLAIN], tokenize_function=str.split, bos_token=True, surprisal=True
    )
    ours = _our_words(lm, PLAIN)
    assert [w for w, _ in ours] == [w for w, _ in theirs] == PLAIN.split()
    diffs = [abs(a - float(b)) for (_, a), (_, b) in zip(ours, theirs, strict=True)]
    print(f"word surprisal vs minicons: largest difference {max(diffs):.2e} nats")
    assert max(diffs) < 1e-3


def test_punctuation_is_its_own_word_here_and_the_sums_agree(lm) -> None:  # type: ignore[no-untyped-def]
    """The one systematic difference: minicons splits words at spaces (`Hunter,` is one word),
    inspector at spaCy's word boundaries (`Hunter` and `,`); each document's total agrees."""
    scorer = _minicons(lm)
    (theirs,) = scorer.word_score_tokenized(
        [PUNCTUATED], tokenize_function=str.split, bos_token=True, surprisal=True
    )
    ours = _our_words(lm, PUNCTUATED)
    assert "Hunter," in [w for w, _ in theirs] and "," in [w for w, _ in ours]
    assert abs(sum(s for _, s in ours) - sum(float(s) for _, s in theirs)) < 1e-3


def test_probe_matches_minicons_and_plain_transformers(lm) -> None:  # type: ignore[no-untyped-def]
    import torch

    prefix, candidates = "The capital of Azerbaijan is", [" Baku", " London", " a big old city"]
    ours = Asker(lm).ask(prefix, candidates)
    scorer = _minicons(lm)
    theirs = scorer.conditional_score(
        [prefix] * 3, [c.lstrip() for c in candidates], reduction=lambda x: -x.sum(0).item(),
        bos_token=True,
    )  # fmt: skip
    np.testing.assert_allclose([c.nll for c in ours], theirs, atol=1e-3)
    tok = lm.tokenizer
    for c, cand in zip(ours, candidates, strict=True):  # one forward pass over the whole text
        head = [lm.prefix_id, *tok(prefix, add_special_tokens=False)["input_ids"]]
        tail = tok(cand, add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            logits = lm.model(torch.tensor([head + tail])).logits[0].float()
        logprobs = torch.log_softmax(logits, -1)
        nll = -sum(float(logprobs[len(head) - 1 + i, t]) for i, t in enumerate(tail))
        assert abs(c.nll - nll) < 1e-4
        assert len(c.pieces) == len(tail)
