"""Units that compare across tokenizers (issue 36): bits per byte and nats per word equal
lm-eval's rolling-loglikelihood metrics on the same text and model; accuracy of targets and
exact match of words against a direct computation from the token table."""

from __future__ import annotations

import math
import re
from collections import defaultdict

import polars as pl
import pytest

from corpora import Document
from inspector.bench import peer_engines as engines
from inspector.run.score import score_corpus
from inspector.tables.tasks import summarize

DOCS = [  # short enough for one window of the tiny model (64 tokens)
    Document("wide", "Café au lait: 3,50 € — 中文 🙂"),
    Document("prose", "Biden married Neilia Hunter, a student.\n\nThe end."),
    Document(
        "plain", "the cat sat on the mat and the dog ran far away"
    ),  # spaCy words = split words
]


@pytest.fixture(scope="module")
def scored(tiny_lm):
    return score_corpus(DOCS, tiny_lm)


def test_bits_per_byte_and_nats_per_word_equal_lm_evals(tiny_lm, scored) -> None:
    from lm_eval.api.metrics import bits_per_byte, weighted_perplexity
    from lm_eval.api.task import Task

    nll = [float(x[0]) for x in engines.lm_eval_rolling(tiny_lm, window=64)(DOCS)]
    by_doc = {r["doc_id"]: r for r in summarize(scored.table.lazy(), "doc").iter_rows(named=True)}
    for doc, loss in zip(DOCS, nll, strict=True):
        ours = by_doc[doc.id]
        assert ours["bytes"] == Task.count_bytes(doc.text) == len(doc.text.encode("utf-8"))
        theirs = bits_per_byte([(-loss, Task.count_bytes(doc.text))])
        assert ours["bits_per_byte"] == pytest.approx(theirs, abs=1e-3)
    everything = by_doc["all"]
    theirs = bits_per_byte([(-x, Task.count_bytes(d.text)) for d, x in zip(DOCS, nll, strict=True)])
    assert everything["bits_per_byte"] == pytest.approx(theirs, abs=1e-3)
    plain = DOCS[2].text
    assert by_doc["plain"]["words"] == Task.count_words(plain) == len(re.split(r"\s+", plain))
    word_ppl = weighted_perplexity([(-nll[2], Task.count_words(plain))])
    assert by_doc["plain"]["nats_per_word"] == pytest.approx(math.log(word_ppl), abs=1e-3)
    # elsewhere lm-eval glues punctuation to its word: "student." is one of its words, two of ours
    assert by_doc["prose"]["words"] > Task.count_words(DOCS[1].text)


def test_accuracy_and_exact_match_against_the_token_table(scored) -> None:
    table = scored.table
    got = {r["task"]: r for r in summarize(table.lazy()).iter_rows(named=True)}
    targets: dict[str, list[bool]] = defaultdict(list)
    words: dict[tuple[str, int, int], list[dict]] = defaultdict(list)
    for row in table.iter_rows(named=True):
        targets[row["task"]].append(row["rank"] == 1)
        words[row["doc_id"], row["word_start"], row["word_end"]].append(row)
    exact: dict[str, list[bool]] = defaultdict(list)
    nats: dict[str, list[float]] = defaultdict(list)
    loss: dict[str, float] = defaultdict(float)
    for pieces in words.values():  # a word: its first piece's task, exact if every piece top-1
        loss[pieces[0]["task"]] += sum(p["nll"] for p in pieces)
        if not pieces[0]["word"].strip():  # whitespace is no word (how many: the tokenizer's)
            continue
        exact[pieces[0]["task"]].append(all(p["rank"] == 1 for p in pieces))
        nats[pieces[0]["task"]].append(sum(p["nll"] for p in pieces))
    for task, hits in targets.items():
        assert got[task]["top1_accuracy"] == pytest.approx(sum(hits) / len(hits), abs=1e-12)
        if task not in exact:
            assert got[task]["words"] == 0 and got[task]["nats_per_word"] is None
            continue
        assert got[task]["words"] == len(exact[task])
        assert got[task]["word_exact_match"] == pytest.approx(
            sum(exact[task]) / len(exact[task]), abs=1e-12
        )
        assert got[task]["nats_per_word"] == pytest.approx(loss[task] / len(nats[task]), rel=1e-9)
    real = sum(len(v) for v in exact.values())
    assert got["all"]["words"] == real < len(words)  # the space between paragraphs: no word
    assert got["all"]["nats_per_word"] == pytest.approx(table["nll"].sum() / real, rel=1e-9)
    assert sum(r["words"] for t, r in got.items() if t != "all") == real


def test_a_task_filter_keeps_each_word_in_its_first_pieces_task(scored) -> None:
    whole = summarize(scored.table.lazy()).filter(pl.col("task") == "grammar")
    only = summarize(scored.table.lazy(), tasks=["grammar"]).filter(pl.col("task") == "grammar")
    for column in ("words", "nats_per_word", "word_exact_match", "bytes", "bits_per_byte"):
        assert only[column].to_list() == whole[column].to_list(), column
