"""`inspector bench --shape` with --profile, --oom and --compile, on the CPU: what a GPU session
runs (scripts/gpu-bench.sh), checked here so that its one run on a card does not fail first."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from inspector import cli, defaults
from inspector.bench import card, shape
from inspector.lm.config import ScoreConfig
from inspector.lm.scorer import Scorer

TINY = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 1,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "rope_theta": 10000.0,
}


@pytest.fixture
def tiny_shape(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(defaults.SHAPES, "tiny", TINY)
    return "tiny"


def test_profile_names_every_stage_of_scoring(tiny_shape: str) -> None:
    r = shape.measure_checks(tiny_shape, "cpu", n_tokens=512, window=64, oom=False)
    p = r["profile"]
    assert p["tokens"] == 512 and r["tokens"] == 512
    batches = len(
        Scorer(shape.random_model(tiny_shape, "cpu"), ScoreConfig(window=64)).batches(
            shape.random_corpus(512, 64)
        )
    )
    stages = p["stages"]
    assert stages["score.body"]["calls"] == batches == stages["score.write"]["calls"]
    assert stages["score.copy"]["calls"] == batches
    assert stages["score.head"]["calls"] >= batches and stages["score.post"]["calls"] >= batches
    host = sum(s["host_s"] for s in stages.values())
    assert 0 < host <= p["wall_s"]  # the ranges do not overlap, and all ran inside the pass
    assert stages["score.body"]["host_s"] > 0 and stages["score.post"]["host_s"] > 0
    assert p["gpu_busy_share"] is None and p["top_kernels"] == []  # no GPU, no kernels
    assert "oom" not in r


def test_oom_check_needs_a_gpu_and_says_so(tiny_shape: str) -> None:
    r = shape.measure_checks(tiny_shape, "cpu", n_tokens=128, window=64, profile=False)
    assert r["oom"]["outcome"] == "not run: a real out-of-memory error needs a GPU"
    lines = shape.format_report(r).splitlines()
    assert lines[-1] == "out of memory: not run: a real out-of-memory error needs a GPU"


def test_memory_limit_is_the_peak_and_a_tenth_of_what_the_batch_took() -> None:
    gb = 10**9
    assert card.memory_limit(weights=4 * gb, peak=14 * gb) == 15 * gb
    # four times the windows then need about four times the 10 GB above the weights: no fit
    assert card.TOO_BIG_ROWS == 4 * card.FIT_ROWS


def test_compiled_body_gives_the_same_scores_and_is_put_back(tiny_shape: str) -> None:
    r = shape.measure_shape(
        tiny_shape, "cpu", n_tokens=256, window=64, repeats=1, compile_backend="inductor"
    )
    assert r["compile_backend"] == "inductor"
    for name in ("forward", "eager", "forward_compiled", "eager_compiled"):
        assert r[f"{name}_tok_s"] > 0
    assert r["forward_compiled_first_run_s"] > 0 and r["eager_compiled_first_run_s"] > 0
    assert r["eager_compiled_vs_eager_max_abs_nll_diff"] < 1e-4
    assert r["eager_compiled_vs_eager_top1_equal_share"] == 1.0
    report = shape.format_report(r)
    assert "eager_compiled" in report and "body under torch.compile (inductor)" in report
    assert "eager_compiled vs eager: max |nll diff|" in report


def test_with_body_puts_the_body_back_after_an_error(tiny_shape: str) -> None:
    import torch

    lm = shape.random_model(tiny_shape, "cpu")
    body, stand_in = lm.model.base_model, torch.nn.Identity()

    def fails() -> None:
        assert lm.model.base_model is stand_in
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        card.with_body(lm, stand_in, fails)()
    assert lm.model.base_model is body


def test_profile_prints_json_and_nothing_of_the_profilers_own() -> None:
    """torch's profiler writes lines of its own ("USDT: ... profiler_start") to the terminal
    unless told not to: in a fresh process, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if k != "KINETO_LOG_LEVEL"}
    argv = ["bench", "--shape", "smollm2-135m", "--device", "cpu", "--tokens", "256"]
    done = subprocess.run(
        [sys.executable, "-m", "inspector", *argv, "--window", "128", "--profile", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "profiler_start" not in done.stderr and "USDT" not in done.stderr
    r = json.loads(done.stdout)
    assert r["profile"]["stages"]["score.body"]["calls"] >= 1 and r["shape"] == "smollm2-135m"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--profile"],
            "--profile measures a random-weight model of a named shape: give --shape too",
        ),
        (["--compile", "--peers"], "--compile measures a random-weight model"),
        (
            ["--shape", "smollm2-135m", "--compile", "--oom"],
            "--compile measures speed and --profile/--oom check where time and memory go",
        ),
    ],
)
def test_card_flags_in_the_wrong_company(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["bench", *argv]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1
