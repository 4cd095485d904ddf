"""Probes against a clumsy user: a prefix longer than the window, thousands of candidates,
text that is not UTF-8, a candidate that cannot fit. Scores stay each candidate's own."""

from __future__ import annotations

import subprocess
import sys

import pytest

from inspector.errors import ModelError
from inspector.lm.continuations import Asker

LONG = " ".join(f"word{i} is here." for i in range(200))  # far past the tiny model's window


def test_a_cut_prefix_is_said_and_one_candidate_does_not_move_another(tiny_lm) -> None:
    asker = Asker(tiny_lm)
    alone = asker.ask(LONG, [" the"])[0]
    beside = asker.ask(LONG, [" the", " and then some more words here"])[0]
    assert alone.cut and beside.cut
    assert alone.context_tokens == beside.context_tokens < tiny_lm.context_length
    assert abs(alone.nll - beside.nll) < 1e-5  # the same cut for both questions
    short = asker.ask("The cat sat", [" on"])[0]
    assert not short.cut and short.context_tokens == 1 + len(
        tiny_lm.tokenizer("The cat sat", add_special_tokens=False)["input_ids"]
    )


def test_thousands_of_candidates_score_as_each_alone(tiny_lm) -> None:
    asker = Asker(tiny_lm)
    candidates = [f" candidate number {i} of many" for i in range(300)]
    together = asker.ask("The list reads", candidates)
    for i in (0, 63, 64, 150, 299):  # across the batches of 64
        alone = asker.ask("The list reads", [candidates[i]])[0]
        assert abs(together[i].nll - alone.nll) < 1e-4
        assert together[i].piece_ranks == alone.piece_ranks


def test_text_that_is_not_utf8_and_candidates_that_cannot_fit(tiny_lm) -> None:
    asker = Asker(tiny_lm)
    for prefix, candidate in (("The \udced\udca0", " x"), ("The", " \ud800")):
        with pytest.raises(ModelError, match="not valid text"):
            asker.ask(prefix, [candidate])
    with pytest.raises(ModelError, match="does not fit the model's window"):
        asker.ask("The", [" word" * (tiny_lm.context_length + 5)])


def test_the_cli_says_it_in_one_line(tiny_model_dir, tmp_path) -> None:
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    common = ["--model", str(tiny_model_dir), "--cache-dir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "inspector", "probe", b"The \xed\xa0\x80", " x", *common],
        capture_output=True, env=env, timeout=300,
    )  # fmt: skip
    err = done.stderr.decode()
    assert done.returncode == 2 and "not valid text" in err and "Traceback" not in err
    assert err.count("\n") == 1
    done = subprocess.run(
        [sys.executable, "-m", "inspector", "probe", LONG, " the", *common],
        capture_output=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"only its last" in done.stderr and b"tokens were read" in done.stderr


def test_a_probe_suite_that_is_not_utf8_is_named_as_a_corpus_would_be(tmp_path) -> None:
    from corpora.errors import CorpusError
    from corpora.probes import read_probes

    suite = tmp_path / "suite.jsonl"
    line = '{"prefix": "The capital of France is", "expected": " Paris", "foils": [" Rome"], '
    suite.write_bytes((line + '"task": "world knowledge"}\n').encode("utf-16"))
    with pytest.raises(CorpusError, match=r"looks like UTF-16 text.*iconv -f UTF-16"):
        read_probes(suite)
    suite.write_bytes(b"\x00\x01binary")
    with pytest.raises(CorpusError, match=r"looks like a binary file"):
        read_probes(suite)
