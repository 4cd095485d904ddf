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


def test_texts_are_parsed_in_workers_while_the_model_scores(
    tiny_family: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the texts are worth a process, their parse starts in a worker before the model
    scores: the workers parse each distinct text once, the run's tagging then only reads the
    kept parses (this process parses none), and the tags equal a run's without the parse
    ahead (and without kept parses at all); a second model parses nothing ahead."""
    import taggers.parses as parses
    import taggers.workers as workers
    from inspector.lm.loading import load_model
    from inspector.run.score import score_corpus

    monkeypatch.setattr(workers, "PARALLEL_CHARS", 0)  # these short texts count as large
    here: list[str] = []
    real = parses.parse

    def counted(nlp, texts):  # every text this process parses (workers are other processes)
        here.extend(texts)
        return real(nlp, texts)

    docs = [Document(f"d{i}", t) for i, t in enumerate([*TEXTS, TEXTS[0]])]  # one repeated
    rules = load_rules()
    lms = [load_model(str(m), tmp_path / "models", device="cpu") for m in tiny_family[:2]]
    plain = score_corpus(docs, lms[0], rules=rules, keep_parses=False)
    monkeypatch.setattr(parses, "parse", counted)
    first = score_corpus(docs, lms[0], cache_dir=tmp_path / "cache", rules=rules, parse_ahead=True)
    assert first.timings["parsed_ahead"] == len(TEXTS) and here == []
    columns = ["word", "word_start", "word_end", "spacy_pos", "ent_type", "task", "task_reason"]
    assert first.table.select(columns).equals(plain.table.select(columns))
    second = score_corpus(docs, lms[1], cache_dir=tmp_path / "cache", rules=rules, parse_ahead=True)
    assert second.timings["parsed_ahead"] == 0 and here == []
    assert second.table.height > 0
    without = score_corpus(
        docs, lms[1], cache_dir=tmp_path / "other", rules=rules, parse_ahead=False
    )
    assert without.timings["parsed_ahead"] == 0 and sorted(here) == sorted(TEXTS)


def test_the_parse_goes_beside_the_scoring_only_where_cores_are_spare(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """By default the parse runs ahead where the model is on an accelerator, or where the CPU
    has a core per worker beyond torch's threads; a CPU the scoring fills keeps it after."""
    import os
    from types import SimpleNamespace

    import torch

    from inspector.run.score import spare_cores

    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 8)
    cpu, gpu = (SimpleNamespace(device=torch.device(d)) for d in ("cpu", "cuda"))
    assert spare_cores(cpu, 8) and not spare_cores(cpu, 9)  # type: ignore[arg-type]
    assert spare_cores(gpu, 16)  # type: ignore[arg-type]
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    assert not spare_cores(cpu, 1)  # type: ignore[arg-type]  # this machine: scoring fills it
