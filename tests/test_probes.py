"""Asking the model (issue 17): continuations scored piece by piece, checked against a plain
transformers computation on the embedded model; probe suites and their commands."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import torch

from conftest import run_cli
from corpora import Document, bundled_path
from corpora.errors import CorpusError
from corpora.probes import read_probes
from inspector.lm.continuations import Asker


def _plain(model, tokenizer, bos: int, prefix: str, candidate: str) -> float:  # type: ignore[no-untyped-def]
    """-ln p(candidate | prefix), with transformers alone: one forward pass of the whole
    sequence, log-softmax in float64, the candidate's pieces gathered."""
    context = prefix.rstrip()
    moved = prefix[len(context) :] + candidate
    ctx = [bos, *tokenizer(context, add_special_tokens=False)["input_ids"]]
    cont = tokenizer(moved, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([ctx + cont])).logits[0].double()
    logprobs = torch.log_softmax(logits, dim=-1)
    return -sum(float(logprobs[len(ctx) - 1 + j, t]) for j, t in enumerate(cont))


def test_continuations_match_plain_transformers_on_the_embedded_model(
    embedded_lm, embedded_cache: Path
) -> None:  # type: ignore[no-untyped-def]
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = next((embedded_cache / "models").iterdir())
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    asker = Asker(embedded_lm)
    questions = {
        "The capital of Azerbaijan is": [" Baku", " London", " Paris, France"],
        "Biden married Neilia ": ["Hunter", "Smith"],  # the space moves to the candidates
        "In my free time, I like to": [" code", " banana"],
    }
    for prefix, candidates in questions.items():
        answers = asker.ask(prefix, candidates)
        for candidate, answer in zip(candidates, answers, strict=True):
            plain = _plain(model, tokenizer, embedded_lm.prefix_id, prefix, candidate)
            assert abs(answer.nll - plain) < 1e-4, (prefix, candidate, answer.nll, plain)
            assert answer.prob == pytest.approx(torch.exp(torch.tensor(-plain)).item(), rel=1e-3)
        if candidates[-1] == " Paris, France":  # a multi-piece candidate: its pieces chained
            assert len(answers[-1].pieces) > 1
    baku, london, _ = asker.ask("The capital of Azerbaijan is", [" Baku", " London", " Paris"])
    assert baku.nll < london.nll and baku.rank == 1  # what the talk's example expects


def test_a_continuation_costs_what_the_token_table_says(embedded_lm) -> None:  # type: ignore[no-untyped-def]
    """The same text scored as a document: the candidate's pieces are its targets."""
    from inspector.run.score import score_corpus

    table = score_corpus(
        [Document("baku", "The capital of Azerbaijan is Baku.")], embedded_lm
    ).table
    start = len("The capital of Azerbaijan is")
    pieces = table.filter((pl.col("char_start") >= start) & (pl.col("char_end") <= start + 5))
    (baku,) = Asker(embedded_lm).ask("The capital of Azerbaijan is", [" Baku"])
    assert list(baku.pieces) == pieces["token"].to_list()
    assert abs(baku.nll - pieces["nll"].sum()) < 1e-4
    assert baku.rank == pieces["rank"][0]


def test_the_bundled_suite_covers_the_talks_table() -> None:
    probes = read_probes(bundled_path() / "probes.jsonl")
    tasks = {p.task for p in probes}
    assert {"grammar", "lexical semantics", "world knowledge", "sentiment", "translation",
            "spatial reasoning", "math"} <= tasks  # fmt: skip
    for p in probes:  # each is also a document of the bundled corpus, which its text continues
        assert p.text.startswith(p.prefix + p.expected), p.id
    assert {p.id for p in probes} >= {"probe-world", "probe-biden"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '{"prefix": "a", "expected": " b", "task": "t"}',
            "this probe lacks foils; fix that line$",
        ),
        (
            '{"prefix": "a", "expected": " b", "foils": [], "task": "t"}',
            "foils a list of one or more",
        ),
        (
            '{"prefix": "a", "expected": " b", "foils": [" b"], "task": "t"}',
            "non-empty and different",
        ),
        ('{"prefix": "a", "expected": 3, "foils": [" c"], "task": "t"}', "must be text"),
        ('{"prefix": "a", "expected": " b", "foils": [" c"], "task": "t"', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_a_bad_probe_line_is_named(tmp_path: Path, line: str, expected: str) -> None:
    suite = tmp_path / "suite.jsonl"
    suite.write_text(
        '{"prefix": "x", "expected": " y", "foils": [" z"], "task": "t"}\n' + line + "\n"
    )
    with pytest.raises(CorpusError, match=expected) as e:
        read_probes(suite)
    assert str(e.value).startswith(f"{suite}:2:")
    for field in ("prefix", "expected", "foils", "task"):  # a field is named once at most
        assert str(e.value).count(field) <= 1, str(e.value)


def test_probe_and_probes_commands(tiny_family: list[Path], tmp_path: Path) -> None:
    cache = ["--cache-dir", str(tmp_path / "cache")]
    one = run_cli("probe", "The capital of Azerbaijan is", " Baku", " London",
                  "--model", str(tiny_family[0]), *cache, "--format", "csv")  # fmt: skip
    assert one.returncode == 0, one.stderr
    rows = pl.read_csv(one.stdout.encode())
    assert rows["candidate"].to_list() == [" Baku", " London"]
    assert ((rows["nll"] > 0) & (rows["prob"] < 1) & (rows["rank"] >= 1)).all()
    suite = tmp_path / "suite.jsonl"
    suite.write_text(
        "\n".join(
            json.dumps(p)
            for p in [
                {
                    "id": "w",
                    "task": "world",
                    "prefix": "The capital of Azerbaijan is",
                    "expected": " Baku",
                    "foils": [" London", " Paris"],
                },
                {
                    "id": "g",
                    "task": "grammar",
                    "prefix": "In my free time, I like to",
                    "expected": " code",
                    "foils": [" banana"],
                },
            ]
        )  # fmt: skip
        + "\n"
    )
    models = [a for d in tiny_family[:2] for a in ("--model", str(d))]
    out = tmp_path / "results.csv"
    done = run_cli("probes", str(suite), *models, *cache, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "share won per task" in done.stdout and "margin by model" in done.stdout
    results = pl.read_csv(out)
    assert results.height == 4 and set(results["probe"]) == {"w", "g"}
    for r in results.iter_rows(named=True):  # the margin and the verdict agree
        assert abs(r["margin"] - (r["best_foil_nll"] - r["expected_nll"])) < 1e-9
        assert r["won"] == (r["margin"] > 0)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prefix": "a"}\n')
    failed = run_cli("probes", str(bad), "--model", str(tiny_family[0]), *cache)
    assert (
        failed.returncode == 2
        and failed.stderr.count("\n") == 1
        and "bad.jsonl:1:" in failed.stderr
    )
    empty = run_cli("probe", "x", "", "--model", str(tiny_family[0]), *cache)
    assert empty.returncode == 2 and "none of them empty" in empty.stderr
