"""The cache (hit, damaged, mismatched) and the export formats (round trips with settings)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from corpora import Document
from inspector.errors import ExportError
from inspector.lm.config import ScoreConfig
from inspector.run.score import score_corpus
from inspector.tables.schema import read_table, settings_sidecar, write_table

DOCS = [
    Document("a", "Biden married Neilia Hunter, a student."),
    Document("b", "Tides rise, then fall."),
]


def test_second_request_comes_from_the_cache(tiny_lm, tmp_path: Path) -> None:
    first = score_corpus(DOCS, tiny_lm, cache_dir=tmp_path)
    second = score_corpus(DOCS, tiny_lm, cache_dir=tmp_path)
    assert not first.from_cache and second.from_cache
    assert_frame_equal(first.table, second.table)
    assert second.settings == first.settings
    assert first.settings["tokens"] == first.table.height


def test_any_change_of_text_or_settings_misses_the_cache(tiny_lm, tmp_path: Path) -> None:
    score_corpus(DOCS, tiny_lm, cache_dir=tmp_path)
    edited = [DOCS[0], Document("b", "Tides rise, then fall!")]
    assert not score_corpus(edited, tiny_lm, cache_dir=tmp_path).from_cache
    assert not score_corpus(DOCS, tiny_lm, ScoreConfig(top_k=3), cache_dir=tmp_path).from_cache
    assert score_corpus(DOCS, tiny_lm, cache_dir=tmp_path).from_cache
    assert len(list((tmp_path / "tables").glob("*.parquet"))) == 3


def test_damaged_cache_file_is_reported_and_rebuilt(tiny_lm, tmp_path: Path) -> None:
    good = score_corpus(DOCS, tiny_lm, cache_dir=tmp_path)
    assert good.cache_file is not None
    good.cache_file.write_bytes(good.cache_file.read_bytes()[:200])
    notices: list[str] = []
    again = score_corpus(DOCS, tiny_lm, cache_dir=tmp_path, warn=notices.append)
    assert not again.from_cache
    assert len(notices) == 1 and "is damaged" in notices[0] and "computing it again" in notices[0]
    assert_frame_equal(again.table, good.table)
    assert score_corpus(DOCS, tiny_lm, cache_dir=tmp_path).from_cache  # replaced by a good file


def test_progress_callback_counts_every_token(tiny_lm) -> None:
    seen: list[tuple[int, int]] = []
    result = score_corpus(DOCS, tiny_lm, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (result.table.height, result.table.height)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_export_round_trip(tiny_lm, tmp_path: Path, suffix: str) -> None:
    result = score_corpus(DOCS, tiny_lm)
    path = tmp_path / f"table{suffix}"
    written = write_table(result.table, path, result.settings)
    assert path in written
    table, settings = read_table(path)
    assert_frame_equal(table, result.table, check_exact=False, rel_tol=1e-12)
    assert settings == result.settings
    assert settings["model_identity"].startswith("files:") and settings["prefix_token"] == "<s>"
    if suffix != ".parquet":
        assert settings_sidecar(path).is_file()


def test_export_never_overwrites_without_force(tiny_lm, tmp_path: Path) -> None:
    result = score_corpus(DOCS, tiny_lm)
    path = tmp_path / "t.csv"
    path.write_text("precious")
    with pytest.raises(ExportError, match="exists; pass --force"):
        write_table(result.table, path, result.settings)
    assert path.read_text() == "precious"
    write_table(result.table, path, result.settings, force=True)
    assert read_table(path)[0].height == result.table.height


def test_export_errors(tiny_lm, tmp_path: Path) -> None:
    result = score_corpus(DOCS, tiny_lm)
    with pytest.raises(ExportError, match=r"unknown output format '\.xlsx'"):
        write_table(result.table, tmp_path / "t.xlsx", result.settings)
    with pytest.raises(ExportError, match="no folder"):
        write_table(result.table, tmp_path / "missing" / "t.parquet", result.settings)


def test_csv_list_cells_are_json(tiny_lm, tmp_path: Path) -> None:
    result = score_corpus(
        [Document("q", 'He said "a, b" then left.')], tiny_lm, ScoreConfig(top_k=3)
    )
    path = tmp_path / "t.csv"
    write_table(result.table, path, result.settings)
    raw = pl.read_csv(path)
    assert raw["top_ids"][0].startswith("[") and raw["top_tokens"][0].startswith('["')


def test_tags_are_cached_apart_from_scores(tiny_lm, tmp_path: Path) -> None:
    from taggers.rules import load_rules

    first = score_corpus(DOCS, tiny_lm, cache_dir=tmp_path)
    assert first.table["task"].null_count() == 0
    assert first.settings["tagger_rules"] == "default" and first.settings["spacy_model"].startswith(
        "en_core_web_sm"
    )
    rules = tmp_path / "rules.toml"
    rules.write_text('version = 1\n[[rule]]\nname = "all"\ntask = "everything"\nwhen = {}\n')
    other = score_corpus(DOCS, tiny_lm, cache_dir=tmp_path, rules=load_rules(rules))
    assert (
        other.timings["score_s"] == 0.0 and other.timings["tag_s"] > 0
    )  # scores reused, tags redone
    assert set(other.table["task"]) <= {"everything", "whitespace"}
    assert other.settings["tagger_rules_hash"] != first.settings["tagger_rules_hash"]
    assert_frame_equal(other.table.drop(TAG), first.table.drop(TAG))


TAG = [
    "word",
    "word_start",
    "word_end",
    "word_initial",
    "spacy_pos",
    "spacy_tag",
    "ent_type",
    "task",
    "task_reason",
]
