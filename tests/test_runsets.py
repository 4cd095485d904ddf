"""The run set (issue 43): short run names that say only what differs, never a word twice;
the catalog of a corpus's cached runs with tokenizer letters; the default set of one
tokenizer and what it leaves out; the choice remembered per corpus; `inspector runs`."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import polars as pl
import pytest

from conftest import cli_here
from corpora import Document
from inspector.lm.config import ScoreConfig
from inspector.run.cache import corpus_hash
from inspector.run.request import score_or_load
from inspector.run.runsets import catalog, load_choice, save_choice
from inspector.tables.names import short_names
from inspector.tables.run import Run
from taggers.rules import load_rules

DOCS = [
    Document("biden", "Biden married Neilia Hunter, a student."),
    Document("danube", "The Danube flows into the Black Sea."),
]


def _run(model: str, identity: str = "", **settings: object) -> Run:
    base = {"model": model, "model_identity": identity or model, "dtype": "float32",
            "window": 128, "stride": 64, "top_k": 20, "tagger_rules_hash": "r"}  # fmt: skip
    return Run.of_table(pl.DataFrame({"doc_id": ["a"], "token_id": [1]}), {**base, **settings})


def test_short_names_say_what_differs_and_never_a_word_twice() -> None:
    # a model named w128 at windows 128 and 64: `w128 win128`, not `w128 w128`
    names = short_names([_run("w128"), _run("w128", window=64, stride=32), _run("w16")])
    assert names == ("w128 win128", "w128 win64", "w16 win128")
    for name in names:
        assert len(name.split()) == len(set(name.split())), name
    # a model named like the window's short form: the longer form, not the word again
    clash = short_names([_run("win64", window=64, stride=32), _run("w16", window=128)])
    assert clash == ("win64 window=64", "w16 win128")
    # the default stride (half the window) goes without saying; another is named
    assert short_names([_run("a"), _run("a", window=256, stride=128)]) == ("win128", "win256")
    assert short_names([_run("a"), _run("a", stride=32)]) == ("s64", "s32")
    # notes in a model's name are left to the legend; two models of one name get a hash
    embedded = _run("SmolLM2-135M-Instruct (Q4_1 GGUF, embedded)")
    assert short_names([embedded, _run("w16")]) == ("SmolLM2-135M-Instruct", "w16")
    twins = short_names([_run("ckpt", "sha:aaaaaa11"), _run("ckpt", "sha:bbbbbb22")])
    assert twins[0] != twins[1] and all(n.startswith("ckpt #") for n in twins)
    assert short_names([_run("w16"), _run("w16")]) == ("w16 #1", "w16 #2")  # repeats numbered
    assert short_names([_run("w16")]) == ("w16",)


@pytest.fixture(scope="module")
def cache(tiny_family, tiny_other_tokenizer, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Three runs of tokenizer A (two models, one at a second window), one of tokenizer B."""
    folder = tmp_path_factory.mktemp("runsets-cache")
    for model, window in ((tiny_family[0], None), (tiny_family[1], None), (tiny_family[1], 16),
                          (tiny_other_tokenizer, None)):  # fmt: skip
        score_or_load(DOCS, str(model), "cpu", "auto", ScoreConfig(window=window), load_rules(),
                      folder)  # fmt: skip
    return folder


def test_catalog_default_and_remembered_choice(cache: Path, tiny_other_tokenizer: Path) -> None:
    found = catalog(cache, corpus_hash(DOCS), load_rules().sha256)
    assert len(found.entries) == 4
    letters = {e.run.settings["model"]: e.tokenizer for e in found.entries}
    assert letters[tiny_other_tokenizer.name] == "B" and set(letters.values()) == {"A", "B"}
    # same tokenizer, same tokens: a letter per tokenization, whatever the window
    assert len({e.tokens for e in found.entries if e.tokenizer == "A"}) == 1
    chosen = found.current(cache)
    assert not chosen.remembered and chosen.tokenizers == ["A"] and len(chosen.entries) == 3
    assert "left out 1 cached run of another tokenizer" in chosen.left_out
    assert tiny_other_tokenizer.name in chosen.left_out
    # browsing the run of B alone: still the runs that compare (B has one run)
    other = next(e for e in found.entries if e.tokenizer == "B")
    assert found.default(other.key) == [e.key for e in found.entries if e.tokenizer == "A"]
    # a choice is kept per corpus, others' untouched
    save_choice(cache, "another corpus", ["x"])
    save_choice(cache, found.corpus, [found.entries[0].key, other.key])
    again = found.current(cache)
    assert again.remembered and again.tokenizers_differ and len(again.entries) == 2
    assert load_choice(cache, "another corpus") == ["x"]
    (cache / "run_sets.json").write_text("{not json")  # damaged: the default, nothing raised
    assert not found.current(cache).remembered


def test_runs_command_lists_the_catalog(cache: Path, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "c.jsonl"
    import json

    corpus.write_text("\n".join(json.dumps({"id": d.id, "text": d.text}) for d in DOCS) + "\n")
    run = partial(cli_here, capsys)
    (cache / "run_sets.json").unlink(missing_ok=True)
    # the same documents read from a JSONL file have the same corpus hash only if their ids
    # and texts are equal: DOCS's ids are kept, so the cache's runs are this corpus's
    page = run("runs", str(corpus), "--cache-dir", str(cache))
    assert page.returncode == 0, page.stderr
    lines = page.stdout.splitlines()
    assert lines[0].split() == ["chosen", "run", "parameters", "tokenizer", "tokens", "window",
                                "stride", "dtype", "top_k", "scored"]  # fmt: skip
    rows = [x for x in lines[1:5]]
    assert sum(x.startswith("*") for x in rows) == 3  # the default: tokenizer A's three
    assert "left out 1 cached run of another tokenizer" in page.stdout
    data = run("runs", str(corpus), "--cache-dir", str(cache), "--format", "csv")
    table = pl.read_csv(data.stdout.encode())
    assert table.height == 4 and set(table["tokenizer"]) == {"A", "B"}
    empty = run("runs", str(corpus), "--cache-dir", str(tmp_path / "nothing"))
    assert empty.returncode == 0 and "no run of this corpus is in the cache" in empty.stdout


def test_tasks_tables_name_runs_short_with_each_full_name_above(  # type: ignore[no-untyped-def]
    cache: Path, tiny_family, capsys, tmp_path: Path
) -> None:
    import json

    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps({"id": d.id, "text": d.text}) for d in DOCS) + "\n")
    page = cli_here(capsys, "tasks", str(corpus), "--model", str(tiny_family[1]), "--window",
                    "16", "--window", "full", "--cache-dir", str(cache))  # fmt: skip
    assert page.returncode == 0, page.stderr
    lines = page.stdout.splitlines()
    name = tiny_family[1].name
    assert f"run win16: {name} (window 16, stride 8)" in lines
    assert f"run win64: {name} (window 64, stride 32)" in lines
    rows = [x.split()[0] for x in lines if x.split()[:1] and x.split()[0].startswith("win")]
    assert set(rows) == {"win16", "win64"}  # the model column: short names only
