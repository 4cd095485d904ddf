"""A parts folder holds exactly one run (issue 12, items 5-9 and the parts messages of 21).

Shards of different splits into one folder once counted every token twice; a rerun with
other settings reported the old table as its own; a truncated part was called "from an
earlier run"; a folder of the user's files got parts written among them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import run_cli
from corpora import Document
from inspector.errors import InspectorError
from inspector.lm.config import ScoreConfig
from inspector.run.parts import score_to_parts
from inspector.run.stored import open_table
from taggers.rules import default_rules_path, load_rules

DOCS = [
    Document(f"d{i}", f"Document {i} says that the river number {i} flows into the sea. " * 2)
    for i in range(10)
]
TOTAL_CHARS = 300


def _score(lm, folder: Path, shard=(0, 1), config=None, rules=None, warn=None):
    return score_to_parts(
        DOCS,
        lm,
        config or ScoreConfig(),
        rules or load_rules(),
        folder,
        TOTAL_CHARS,
        shard,
        warn=warn,
    )


def _tokens(folder: Path) -> int:
    return open_table(str(folder)).frame.collect().height


def test_shards_of_another_split_are_refused_never_counted_twice(tiny_lm, tmp_path: Path) -> None:
    whole = _score(tiny_lm, tmp_path / "whole").tokens
    folder = tmp_path / "parts"
    _score(tiny_lm, folder, (0, 2))
    _score(tiny_lm, folder, (1, 2))
    assert _tokens(folder) == whole
    with pytest.raises(InspectorError, match=r"split into 2 shard\(s\).*--shard 0/1"):
        _score(tiny_lm, folder, (0, 1))
    assert _tokens(folder) == whole  # nothing was added
    with pytest.raises(InspectorError, match="split into 1 shard"):
        _score(tiny_lm, tmp_path / "whole", (1, 4))
    assert _tokens(tmp_path / "whole") == whole


def test_readers_read_only_listed_parts_and_refuse_disagreeing_manifests(
    tiny_lm, tmp_path: Path
) -> None:
    whole = _score(tiny_lm, tmp_path).tokens
    first = sorted(tmp_path.glob("part-*.parquet"))[0]
    shutil.copy(first, tmp_path / "stray.parquet")  # a file no manifest lists
    assert _tokens(tmp_path) == whole
    (tmp_path / "manifest-s0of3.json").write_text(
        json.dumps({"settings": None, "part_chars": TOTAL_CHARS, "parts": []})
    )
    with pytest.raises(InspectorError, match="split into 1 and into 3 shards"):
        open_table(str(tmp_path))


@pytest.mark.parametrize(
    ("config", "rules_edit", "named"),
    [
        (ScoreConfig(top_k=5), None, "top_k"),
        (ScoreConfig(window=32, stride=16), None, "window"),
        (ScoreConfig(), "other", "tagger_rules_hash"),
    ],
)
def test_a_complete_folder_rerun_with_other_settings_is_refused(
    tiny_lm, tmp_path: Path, config: ScoreConfig, rules_edit: str | None, named: str
) -> None:
    folder = tmp_path / "parts"
    _score(tiny_lm, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    rules = None
    if rules_edit:
        edited = tmp_path / "rules.toml"
        edited.write_text(
            default_rules_path().read_text().replace('task = "arbitrary"', 'task = "other"')
        )
        rules = load_rules(edited)
    with pytest.raises(InspectorError, match=named):
        _score(tiny_lm, folder, config=config, rules=rules)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_a_damaged_or_missing_part_is_named_and_only_it_is_scored_again(
    tiny_lm, tmp_path: Path, damage: str
) -> None:
    first = _score(tiny_lm, tmp_path)
    table = open_table(str(tmp_path)).frame.collect()
    victim = first.parts[1]
    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
        with pytest.raises(InspectorError, match=victim.name):
            open_table(str(tmp_path))  # the reader names the file
    else:
        victim.unlink()
    said: list[str] = []
    again = _score(tiny_lm, tmp_path, warn=said.append)
    assert again.written == 1 and again.resumed == len(first.parts) - 1
    assert len(said) == 1 and victim.name in said[0]
    assert open_table(str(tmp_path)).frame.collect().equals(table)


def test_a_folder_of_other_files_is_refused_before_any_work(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my own file")
    corpus = tmp_path / "c.txt"
    corpus.write_text("Some text.")
    # the model does not exist: the folder must be refused first, before any loading
    proc = run_cli("score", str(corpus), "--parts", str(folder), "--model", str(tmp_path / "none"))
    assert proc.returncode == 2 and "no inspector manifest" in proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--shard", "1/2"], "--shard shapes a streamed run"),
        (["--engine", "ray"], "--engine ray shapes a streamed run"),
        (["--part-chars", "1000"], "--part-chars shapes a streamed run"),
        (["--parts", "{file}"], "a file, not a folder"),
        (["--parts", "{bad_manifest}"], "not a manifest inspector can read (part_chars"),
    ],
)
def test_streaming_options_misused_get_one_clear_line(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("Some text.")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest-s0of1.json").write_text(json.dumps({"part_chars": "None", "parts": []}))
    filled = [a.format(file=corpus, bad_manifest=bad) for a in args]
    proc = run_cli("score", str(corpus), *filled, "--model", str(tmp_path / "none"))
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and expected in proc.stderr
    assert "--part-chars None" not in proc.stderr and "--cache-dir" not in proc.stderr
