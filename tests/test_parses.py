"""One tagging for every model (issue 36): each text's spaCy parse is kept in the cache, so
comparing N models parses the corpus once, and tags from kept parses equal fresh ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from corpora import Document
from taggers.rules import load_rules
from taggers.tagger import TaskTagger

TEXTS = [
    "Biden married Neilia Hunter, a student. The capital of Azerbaijan is Baku.",
    "In my free time, I like to code. 3 + 8 * 4 = 35.\n\nThe Danube flows into the Black Sea.",
    "Mangoes ripened; walked, running and the keeper's honeybees — 中文 too.",
]


def _spans(text: str, step: int) -> np.ndarray:
    """Targets of `step` characters (a model's pieces, as far as the tagger cares)."""
    return np.array([(i, min(i + step, len(text))) for i in range(0, len(text), step)])


def test_tags_from_kept_parses_equal_fresh_tags(tmp_path: Path) -> None:
    rules = load_rules()
    fresh = TaskTagger(rules).tag(TEXTS, [_spans(t, 3) for t in TEXTS])
    first = TaskTagger(rules, parses=tmp_path)
    assert first.tag(TEXTS, [_spans(t, 3) for t in TEXTS]) == fresh
    assert first.cache is not None and first.cache.parsed == len(TEXTS)
    again = TaskTagger(rules, parses=tmp_path)  # another model's pieces: other spans
    assert again.tag(TEXTS, [_spans(t, 3) for t in TEXTS]) == fresh
    assert again.cache is not None and (again.cache.parsed, again.cache.found) == (0, len(TEXTS))
    other = [_spans(t, 5) for t in TEXTS]
    assert TaskTagger(rules, parses=tmp_path).tag(TEXTS, other) == TaskTagger(rules).tag(
        TEXTS, other
    )


def test_a_damaged_parse_is_parsed_again(tmp_path: Path) -> None:
    rules = load_rules()
    spans = [_spans(t, 4) for t in TEXTS]
    fresh = TaskTagger(rules).tag(TEXTS, spans)
    TaskTagger(rules, parses=tmp_path).tag(TEXTS, spans)
    kept = sorted(tmp_path.rglob("*.doc"))
    assert len(kept) == len(TEXTS)
    kept[0].write_bytes(b"not a parse")
    tagger = TaskTagger(rules, parses=tmp_path)
    assert tagger.tag(TEXTS, spans) == fresh
    assert tagger.cache is not None and tagger.cache.parsed == 1  # only the damaged one


def test_comparing_three_models_parses_the_corpus_once(
    tiny_family: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import taggers.parses as parses
    from inspector.lm.config import ScoreConfig
    from inspector.run.request import score_or_load

    parsed: list[str] = []
    real = parses.parse

    def counted(nlp, texts):  # every text spaCy parses, counted
        parsed.extend(texts)
        return real(nlp, texts)

    monkeypatch.setattr(parses, "parse", counted)
    docs = [Document(f"d{i}", t) for i, t in enumerate(TEXTS)]
    rules = load_rules()
    runs = [score_or_load(docs, str(m), "cpu", "auto", ScoreConfig(), rules, tmp_path)
            for m in tiny_family]  # fmt: skip
    assert sorted(parsed) == sorted(TEXTS)  # once each, for three models
    tags = [run.table.select("word_start", "word_end", "task").height for run in runs]
    assert all(tags)
