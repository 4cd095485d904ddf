"""GPU scoring checked without a GPU: the one-pass Triton kernel (run by Triton's own CPU
interpreter) against `postprocess`, float32 logits from a half-precision head, batch sizes
from free memory, and `inspector bench --shape` end to end on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from corpora import bundled_path, read_corpus
from inspector import cli
from inspector.bench.shape import SHAPES
from inspector.lm.batching import tokens_that_fit
from inspector.lm.config import MAX_BATCH_TOKENS, MEMORY_SHARE, ScoreConfig
from inspector.lm.fused import fused_postprocess
from inspector.lm.head import float32_logits
from inspector.lm.postprocess import postprocess
from inspector.run.tokens import TableScorer as Scorer


def _compare(logits: torch.Tensor, targets: torch.Tensor, k: int, block: int) -> None:
    before = logits.clone()
    fused = fused_postprocess(logits, targets, k, block=block)
    assert torch.equal(logits, before)  # the kernel only reads
    eager = postprocess(logits.clone(), targets, k)
    assert torch.equal(fused["rank"].long(), eager["rank"].long())
    assert torch.equal(fused["top_ids"], eager["top_ids"])
    for name in ("nll", "entropy", "top_logprobs"):
        torch.testing.assert_close(fused[name], eager[name], atol=2e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("rows", "vocab", "k", "block"),
    [
        (6, 1000, 20, 256),  # several blocks, the last one partly outside the row
        (3, 100, 20, 64),  # fewer groups (4) than k: every column is a candidate
        (4, 4097, 5, 1024),  # one column past a whole number of blocks and groups
        (5, 300, 1, 128),  # top-1
        (3, 49152, 20, 4096),  # the SmolLM2 vocabulary at the GPU block size
    ],
)
def test_fused_matches_postprocess(rows: int, vocab: int, k: int, block: int) -> None:
    g = torch.Generator().manual_seed(rows * vocab + k)
    logits = torch.randn(rows, vocab, generator=g) * 4
    logits[0, 7] = float("-inf")  # a banned token, as some models produce
    logits[-1] += 30  # large logits: the online max must rescale without overflow
    targets = torch.randint(0, vocab, (rows,), generator=g)
    targets[0] = int(logits[0].argmax())  # rank 1
    _compare(logits, targets, k, block)


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 4),
    vocab=st.integers(1, 300),
    k=st.integers(1, 24),
    levels=st.integers(1, 50),
    seed=st.integers(0, 2**31 - 1),
)
def test_fused_on_ties_and_odd_sizes(rows: int, vocab: int, k: int, levels: int, seed: int) -> None:
    """Logits drawn from a few levels tie a lot: which tied id comes first may differ from
    torch.topk, so compare what is defined: values, the ids' logits, counts."""
    k = min(k, vocab)
    g = torch.Generator().manual_seed(seed)
    logits = torch.randint(0, levels, (rows, vocab), generator=g).float() / 3
    targets = torch.randint(0, vocab, (rows,), generator=g)
    fused = fused_postprocess(logits, targets, k, block=64)
    eager = postprocess(logits.clone(), targets, k)
    assert torch.equal(fused["rank"].long(), eager["rank"].long())
    torch.testing.assert_close(fused["nll"], eager["nll"], atol=2e-5, rtol=1e-5)
    torch.testing.assert_close(fused["entropy"], eager["entropy"], atol=2e-5, rtol=1e-5)
    torch.testing.assert_close(fused["top_logprobs"], eager["top_logprobs"], atol=2e-5, rtol=1e-5)
    lse = torch.logsumexp(logits.double(), dim=-1, keepdim=True)
    picked = logits.double().gather(1, fused["top_ids"]) - lse  # the ids carry those values
    torch.testing.assert_close(picked.float(), fused["top_logprobs"], atol=2e-5, rtol=1e-5)
    assert all(len(set(row.tolist())) == k for row in fused["top_ids"])  # no id twice


def test_scorer_fused_equals_eager(tiny_lm) -> None:
    docs = [d for d in read_corpus([bundled_path()]) if d.id.startswith("prose/")][:2]
    config = ScoreConfig(window=64, stride=32, batch_tokens=256)
    fused = Scorer(tiny_lm, config, post="fused").score(docs)
    eager = Scorer(tiny_lm, config, post="eager").score(docs)
    assert fused.height == eager.height > 500
    assert fused["rank"].to_list() == eager["rank"].to_list()
    assert fused["top_ids"].to_list() == eager["top_ids"].to_list()
    for col in ("nll", "entropy"):
        assert np.abs((fused[col] - eager[col]).to_numpy()).max() < 2e-5


@pytest.mark.embedded
def test_fused_on_the_embedded_model(embedded_lm) -> None:
    """The real 49,152-token vocabulary and real logits, ties and all."""
    docs = [d for d in read_corpus([bundled_path()]) if d.id.startswith("probe-")]
    fused = Scorer(embedded_lm, post="fused").score(docs)
    eager = Scorer(embedded_lm, post="eager").score(docs)
    assert fused.height == eager.height > 100
    assert fused["rank"].to_list() == eager["rank"].to_list()
    top1 = (fused["top_ids"].list.first() == eager["top_ids"].list.first()).mean()
    assert top1 == 1.0
    for col in ("nll", "entropy"):
        assert np.abs((fused[col] - eager[col]).to_numpy()).max() < 1e-4
    gap = (fused["top_probs"].explode() - eager["top_probs"].explode()).abs().max()
    assert gap < 1e-5


def test_half_precision_head_writes_float32_logits() -> None:
    """bfloat16 products are exact in float32: the logits equal a float64 product of the same
    numbers to float32 rounding, where casting bfloat16 logits is off by ~1e-2."""
    g = torch.Generator().manual_seed(0)
    head = torch.nn.Linear(64, 500, bias=True).to(torch.bfloat16)
    with torch.no_grad():
        head.weight.copy_(torch.randn(500, 64, generator=g))
        head.bias.copy_(torch.randn(500, generator=g))
    h = torch.randn(32, 64, generator=g).to(torch.bfloat16)
    exact = h.double() @ head.weight.double().T + head.bias.double()
    ours = float32_logits(h, head)
    assert ours.dtype == torch.float32
    assert (ours.double() - exact).abs().max() < 1e-4
    assert (head(h).float().double() - exact).abs().max() > 1e-2  # what it replaces


def test_batch_tokens_from_free_memory() -> None:
    gib = 1 << 30
    # 4 GiB free, 80% of it usable, 1 GiB held back for logits, 32 KiB per token:
    # (3.2 - 1) GiB / 32 KiB = 72,089.6 tokens
    assert MEMORY_SHARE == 0.8
    assert tokens_that_fit(4 * gib, 32 * 1024, gib, 1024) == 72_089
    assert tokens_that_fit(80 * gib, 1024, 0, 1024) == MAX_BATCH_TOKENS  # capped
    assert tokens_that_fit(1 * gib, 1 << 20, 0, 2048) == 2048  # at least one window
    assert tokens_that_fit(2 * gib, 1 << 20, 4 * gib, 512) == 512  # nothing left: one window


def test_shape_bench_runs_on_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    assert set(cli.SHAPES) == set(SHAPES)
    code = cli.main(
        [
            "bench",
            "--shape",
            "smollm2-135m",
            "--device",
            "cpu",
            "--tokens",
            "512",
            "--window",
            "256",
            "--repeats",
            "1",
            "--json",
        ]
    )
    assert code == 0
    r = json.loads(capsys.readouterr().out)
    assert r["card"] == "cpu" and r["tokens"] == 512 and r["window"] == 256
    assert 134e6 < r["n_params"] < 136e6  # SmolLM2-135M's shape
    assert r["forward_tok_s"] > 0 and r["eager_tok_s"] > 0
    assert "fused_tok_s" not in r  # the kernel runs on CUDA only; on a CPU it is interpreted


@pytest.mark.parametrize("capability", [90, 80])
def test_kernel_compiles_for_datacenter_gpus(capability: int) -> None:
    """Triton compiles ahead of time without a GPU: the kernel builds for sm_90 (H100/H200)
    and sm_80 (A100), with 16-byte loads and without spilling registers to local memory. In
    a fresh process, since this one runs Triton's interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["TRITON_DEFAULT_FP_FUSION"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "inspector.bench.kernel", "--capability", str(capability)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    report = done.stdout
    assert f"row_stats for sm_{capability}" in report and "LOCAL:0" in report
    loads = int(report.rsplit(":", 1)[1])
    assert loads >= 4  # each thread reads its 16 floats of a 4096-column block as 4 x 16 bytes


def test_sweep_checks_every_configuration() -> None:
    """The GPU tuning sweep, run small on the CPU: every block size and warp count agrees with
    the plain post-processing."""
    from inspector.bench.kernel import sweep

    report = sweep(rows=3, vocab=300, k=5, device="cpu")
    rows = [line for line in report.splitlines() if "fused block" in line]
    assert len(rows) == 12
    assert all("ranks+top ids equal" in line for line in rows)


def test_probe_sizes_batches_from_measured_memory(tiny_lm, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CUDA batch-size probe, with the CUDA memory calls faked around a real forward pass
    on the CPU: per-token bytes from the peak, plus the gathered hidden state, into the free
    memory; measured once per window."""
    import dataclasses

    from inspector.lm.batching import probe_batch_tokens

    gib = 1 << 30
    fake = {"allocated": 1 * gib, "peak": 1 * gib + 2 * 512 * 40_000, "free": 4 * gib}
    calls: list[str] = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: None)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda *a: calls.append("reset"))
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda *a: fake["allocated"])
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda *a: fake["peak"])
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda *a: (fake["free"], 80 * gib))
    lm = dataclasses.replace(tiny_lm, batch_tokens={})
    hidden = int(lm.model.get_output_embeddings().weight.shape[1])
    per_token = 40_000 + hidden * lm.dtype.itemsize  # two rows of 512 took 2 * 512 * 40,000 bytes
    got = probe_batch_tokens(lm, 512, reserved=gib)
    assert got == tokens_that_fit(4 * gib, per_token, gib, 512)
    assert 512 < got < MAX_BATCH_TOKENS
    assert probe_batch_tokens(lm, 512, reserved=gib) == got and calls == ["reset"]  # kept


def test_a_kernel_that_fails_falls_back_to_plain(
    tiny_lm, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A GPU Triton cannot build for: one line on stderr, then the same scores in plain torch."""
    import inspector.lm.fused as fused

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("PTX .version 8.7 does not support .target sm_61\nmore detail")

    docs = [d for d in read_corpus([bundled_path()]) if d.id.startswith("probe-")]
    expected = Scorer(tiny_lm, post="eager").score(docs)
    monkeypatch.setattr(fused, "fused_postprocess", broken)
    scorer = Scorer(tiny_lm, post="fused")
    got = scorer.score(docs)
    assert scorer.post == "eager"
    err = capsys.readouterr().err
    assert err.count("fused post-processing kernel failed") == 1 and "sm_61" in err
    assert "more detail" not in err
    assert got["rank"].to_list() == expected["rank"].to_list()
    assert np.abs((got["nll"] - expected["nll"]).to_numpy()).max() < 1e-6
