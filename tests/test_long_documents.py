"""One long document: progress while it is scored, in a log as on a terminal (issue 12, 15)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from inspector import cli
from inspector.cli import progress


@pytest.mark.parametrize("parts", [False, True])
def test_a_long_document_reports_progress_without_a_terminal(
    tiny_model_dir: Path, tmp_path: Path, parts: bool, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setattr(progress, "PROGRESS_EVERY", 0.0)  # a line per batch, not per 30 s
    corpus = tmp_path / "long.txt"
    corpus.write_text("x" * 3000)  # no spaces: one word, many windows
    args = ["score", str(corpus), "--model", str(tiny_model_dir), "--window", "16"]
    args += ["--cache-dir", str(tmp_path / "cache"), "--batch-tokens", "64"]
    if parts:
        args += ["--parts", str(tmp_path / "parts")]
    assert cli.main(args) == 0
    lines = [ln for ln in capsys.readouterr().err.splitlines() if "scoring:" in ln]
    assert len(lines) > 3, lines  # capsys' stderr is not a terminal: lines, not a bar
    if not parts:
        assert "of " in lines[-1] and "left" in lines[-1]


LONG = "\n\n".join(
    f"Paragraph {i}: the river number {i} flows into the sea, past {i + 1} towns. "
    "Biden married Neilia Hunter, a student."
    for i in range(40)
)


def test_slices_cover_every_target_once_at_window_edges(tiny_lm) -> None:
    from inspector.lm.config import ScoreConfig
    from inspector.run.tokens import TableScorer as Scorer

    scorer = Scorer(tiny_lm, ScoreConfig(window=32, stride=16))
    tokenized = scorer.tokenize([LONG])[0]
    slices = scorer.slices(tokenized, 500)
    assert slices[0][0] == 0 and slices[-1][1] == len(tokenized.ids) and len(slices) > 3
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(slices))
    edges = {w.end for w in scorer.windows(len(tokenized.ids))}
    assert {b for _, b in slices} <= edges
    whole = scorer.score_tokenized([tokenized])
    for a, b in slices:
        part = scorer.score_tokenized([tokenized], span=(a, b))
        for name in ("nll", "rank", "top_ids", "ctx_len"):
            assert (part[name] == whole[name][a:b]).all(), name


def test_a_document_longer_than_a_part_is_written_in_slices_equal_to_the_whole(
    tiny_lm, tmp_path: Path
) -> None:
    import numpy as np

    from corpora import Document
    from inspector.lm.config import ScoreConfig
    from inspector.run.parts import score_to_parts
    from inspector.run.score import score_corpus
    from inspector.run.stored import open_table
    from taggers.rules import load_rules

    docs = [Document("short", "A short one."), Document("long", LONG), Document("end", "Done.")]
    config = ScoreConfig(window=32, stride=16)
    result = score_to_parts(docs, tiny_lm, config, load_rules(), tmp_path, part_chars=600)
    assert result.documents == 3 and len(result.parts) > 4
    whole = score_corpus(docs, tiny_lm, config).table
    parts = open_table(str(tmp_path)).frame.collect()
    key = ["doc_id", "pos"]
    parts, whole = parts.sort(key), whole.sort(key)
    assert parts.select(key, "token_id", "rank").equals(whole.select(key, "token_id", "rank"))
    np.testing.assert_allclose(parts["nll"].to_numpy(), whole["nll"].to_numpy(), atol=1e-5)
    # spaCy read each slice widened to line breaks: on paragraphs, the same tags
    assert parts.select("word", "word_start", "task", "task_reason").equals(
        whole.select("word", "word_start", "task", "task_reason")
    )
    again = score_to_parts(docs, tiny_lm, config, load_rules(), tmp_path, part_chars=600)
    assert again.resumed == len(result.parts) and again.written == 0


def test_the_word_column_of_a_huge_word_stays_small() -> None:
    """A 5,000-character word with 4,000 targets once stored 20 million characters."""
    import numpy as np

    from taggers.rules import load_rules
    from taggers.tagger import WORD_CHARS, TaskTagger

    text = "ab" * 2500
    spans = np.array([[i, i + 1] for i in range(0, 4000)])
    cols = TaskTagger(load_rules()).tag_here([text], [spans])
    assert {len(w) for w in cols["word"]} == {WORD_CHARS + 1}
    assert cols["word"][0] == text[:WORD_CHARS] + "…"
    assert (cols["word_start"][0], cols["word_end"][0]) == (0, len(text))  # the full span
