"""Compare mode finds another run's numbers by the text under the cursor (issue 43, item 1):
for every position of every document, whatever run is browsed and whichever runs are
chosen, the unit shown holds the cursor's characters, and its colour, its candidates and the
jumps to it address that same text. Runs of three tokenizers, two windows and two model
families (Llama, GPT-2) are cached together, as people's caches are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from corpora import Document
from inspector.lm.config import ScoreConfig
from inspector.lm.loading import load_model
from inspector.run.score import score_corpus
from inspector.session.browse import DocRows
from inspector.session.compare import CompareView
from inspector.tables.changes import compare_runs

DOCS = [
    Document("biden", "Biden married Neilia Hunter, a student.\n\nShe was 26."),
    Document("mixed", "Café naïve: don't pay 3.14 for 日本語, she said. We're walking 😀 home."),
    Document("danube", "The Danube flows into the Black Sea; it is 2,850 km long."),
]


def tiny_gpt2(tokenizer_from: Path, folder: Path) -> Path:
    """A random GPT-2 (another model family) with the tokenizer saved in `tokenizer_from`."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    tok = AutoTokenizer.from_pretrained(tokenizer_from)
    torch.manual_seed(3)
    config = GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=1, n_head=2, n_positions=64,
                        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)  # fmt: skip
    GPT2LMHeadModel(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def runs(tiny_family, tiny_other_tokenizer, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Llama runs of one tokenizer (two sizes; the second also at window 16), a Llama of
    another tokenizer, and a GPT-2 of that other tokenizer."""
    from conftest import build_tiny_model

    cache = tmp_path_factory.mktemp("spans-cache")
    third = build_tiny_model(tmp_path_factory.mktemp("tiny-third"), vocab=300, seed=11)
    gpt2 = tiny_gpt2(tiny_other_tokenizer, tmp_path_factory.mktemp("tiny-gpt2"))

    def score(folder: Path, window: int | None = None):  # type: ignore[no-untyped-def]
        lm = load_model(str(folder), cache, device="cpu")
        return score_corpus(DOCS, lm, ScoreConfig(window=window))

    return {
        "f0": score(tiny_family[0]),
        "f1": score(tiny_family[1]),
        "f1w16": score(tiny_family[1], 16),
        "other": score(tiny_other_tokenizer),
        "gpt2": score(gpt2),
        "third": score(third),
    }


# (browsed run, chosen runs): the chosen runs share the browsed run's tokenizer; share
# another; differ among themselves (with and without the browsed run's)
COMBINATIONS = [
    ("f0", ("f1", "f1w16")),
    ("other", ("f0", "f1")),
    ("third", ("other", "gpt2")),
    ("f0", ("f1w16", "other")),
    ("other", ("third", "f1", "gpt2")),
    ("third", ("f0", "other", "third")),
]


@pytest.mark.parametrize(("browsed", "chosen"), COMBINATIONS)
def test_the_unit_shown_holds_the_text_under_the_cursor(runs, browsed, chosen) -> None:  # type: ignore[no-untyped-def]
    table = runs[browsed].table
    comparison = compare_runs([runs[c] for c in chosen], order="given", shape=table.lazy())
    view = CompareView(comparison, [d.id for d in DOCS])
    shares_tokens = all(
        runs[c].table["token_id"].to_list() == table["token_id"].to_list() for c in chosen
    )
    assert view.unit == ("token" if shares_tokens else "word")
    positions = found = 0
    for doc in DOCS:
        rows = DocRows.from_table(table.filter(pl.col("doc_id") == doc.id))
        deltas = view.deltas(doc.id, rows)
        for pos in range(len(rows)):
            positions += 1
            unit = view.unit_at(doc.id, rows, pos)
            if unit is None:
                assert np.isnan(deltas[pos])  # no colour where no unit
                continue
            found += 1
            start, end = int(rows.char_start[pos]), int(rows.char_end[pos])
            where = f"{browsed} over {chosen}, {doc.id}:{pos} {doc.text[start:end]!r}"
            assert unit["char_start"] <= start and end <= unit["char_end"], where
            assert deltas[pos] == unit["delta"], where  # its colour is its unit's change
            # each chosen run's candidates are those of a target inside the unit
            for i, row in enumerate(view.candidates(doc.id, unit)):
                assert row is not None, where
                run_rows = runs[chosen[i]].table.filter(
                    (pl.col("doc_id") == doc.id) & (pl.col("pos") == row["pos"])
                )
                assert unit["char_start"] <= run_rows["char_start"][0] < unit["char_end"], where
            # a jump to the unit (i, r, e) lands on a target of this same unit
            target = view.target_of(doc.id, rows, int(unit["pos"]))
            assert view.unit_at(doc.id, rows, target) == unit, where
    # only a document's first word can be in no unit (a model with no start token)
    assert found >= positions - 2 * len(DOCS), (found, positions)


def test_compare_names_the_browsed_runs_shaping(runs) -> None:  # type: ignore[no-untyped-def]
    """A comparison shaped by a browsed run of another tokenizer says so in its header."""
    chosen = [runs["f0"], runs["f1"]]
    shaped = compare_runs(chosen, order="given", shape=runs["other"].table.lazy())
    plain = compare_runs(chosen, order="given")
    assert plain.aligned.unit == "token" and shaped.aligned.unit == "word"
    assert any("browsed run's tokens shape the units" in line for line in shaped.header())
    # the shaped units still hold every nat of each run (nothing is split or lost)
    for i, run in enumerate(chosen):
        total = run.table["nll"].sum()
        kept = shaped.units[f"nll_{i}"].sum() + shaped.aligned.uncovered_nll[i]
        assert kept == pytest.approx(total, rel=1e-9)
