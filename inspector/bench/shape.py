"""`inspector bench --shape NAME`: scoring speed on a random-weight model of a named shape.

Speed does not depend on the weights, so a GPU machine that cannot receive the embedded
model (or any model) can still measure what inspector does with one of its shape. The
corpus is random token ids, one window per document, so every batch is full. Measured side
by side in one process, alternating, best of `repeats`:

- forward: the model's plain forward pass with full logits in the model's dtype, batches
  of 64 x 1024 tokens: the speed ceiling a notebook would start from;
- scoring, fused: `Scorer.score_tokenized`, token ids in, every target's loss, rank,
  entropy and top-k out as host arrays, with the one-pass Triton post-processing (CUDA);
- scoring, eager: the same with the plain torch post-processing (several passes per row).

Fused and eager outputs are compared too, so a run on a new card also checks the kernel.
Only torch, transformers and numpy are needed: not polars, spaCy or Textual.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from inspector import defaults
from inspector.bench.card import (
    TOO_BIG_ROWS,
    agreement,
    compiled_ways,
    format_card,
    oom_check,
    profile_scoring,
    sync,
    timed,
)
from inspector.lm.batching import Tokenized
from inspector.lm.config import ScoreConfig
from inspector.lm.head import float32_logits
from inspector.lm.loading import LoadedModel, pick_device, pick_dtype
from inspector.lm.scorer import Scorer
from inspector.lm.sources import ModelSource

SHAPES, VOCAB, CONTEXT = defaults.SHAPES, defaults.SHAPE_VOCAB, defaults.SHAPE_CONTEXT
FORWARD_BATCH_TOKENS = 65536  # the plain forward pass: 64 rows of 1024


def random_model(
    shape: str, device: str = "auto", dtype: str = "auto", seed: int = 0
) -> LoadedModel:
    """A LlamaForCausalLM of a named shape with random weights, as a LoadedModel (no tokenizer)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    started = time.perf_counter()
    dev = pick_device(device)
    dt = pick_dtype(dtype, dev)
    config = LlamaConfig(
        vocab_size=VOCAB,
        max_position_embeddings=CONTEXT,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        **SHAPES[shape],
    )
    config._attn_implementation = "sdpa"
    torch.manual_seed(seed)
    with torch.device(dev):
        model: Any = LlamaForCausalLM(config)
        model = model.to(dtype=dt).eval()
    return LoadedModel(
        model=model,
        tokenizer=None,
        source=ModelSource(
            spec=f"random:{shape}",
            kind="random",
            path=Path("."),
            name=f"{shape} shape, random weights (seed {seed})",
            identity=f"random:{shape}:{seed}",
        ),
        device=dev,
        dtype=dt,
        prefix_id=1,
        prefix_token="<bos>",
        prefix_kind="bos",
        context_length=CONTEXT,
        n_params=sum(p.numel() for p in model.parameters()),
        load_seconds=time.perf_counter() - started,
        converted=False,
    )


def random_corpus(n_tokens: int, window: int, seed: int = 0) -> list[Tokenized]:
    """Documents of `window` random token ids each: one full window per document."""
    rng = np.random.default_rng(seed)
    n_docs = max(1, n_tokens // window)
    ids = rng.integers(3, VOCAB, size=(n_docs, window), dtype=np.int64)
    offsets = np.zeros((window, 2), dtype=np.int64)
    return [Tokenized(row, offsets) for row in ids]


def forward_pass(lm: LoadedModel, tokenized: list[Tokenized], window: int) -> None:
    """The plain forward pass with full logits, in batches of FORWARD_BATCH_TOKENS."""
    import torch

    rows = max(1, FORWARD_BATCH_TOKENS // window)
    ids = torch.from_numpy(np.stack([t.ids for t in tokenized]))  # (docs, window)
    with torch.inference_mode():
        for i in range(0, len(ids), rows):
            batch = ids[i : i + rows].to(lm.device)
            logits = lm.model(input_ids=batch, use_cache=False).logits  # (rows, window, vocab)
            del logits
    sync(lm)


def head_error(lm: LoadedModel, rows: int = 256) -> float:
    """Largest error of `float32_logits` on random hidden states, relative to the largest
    logit, against a float64 product of the same numbers."""
    import torch

    head = lm.model.get_output_embeddings()
    g = torch.Generator(device=lm.device).manual_seed(0)
    h = torch.randn(rows, head.weight.shape[1], generator=g, device=lm.device).to(lm.dtype)
    with torch.inference_mode():
        ours = float32_logits(h, head).double()
        exact = h.double() @ head.weight.double().T
    return float((ours - exact).abs().max() / exact.abs().max())


def measure_shape(
    shape: str,
    device: str = "auto",
    dtype: str = "auto",
    n_tokens: int | None = None,
    window: int = 1024,
    top_k: int = defaults.TOP_K,
    repeats: int = 3,
    compile_backend: str | None = None,
) -> dict[str, Any]:
    """Forward, fused and eager scoring tokens/s on a random-weight model of `shape`; with
    `compile_backend`, the forward pass and scoring beside themselves with the body compiled."""
    lm = random_model(shape, device, dtype)
    cuda = lm.device.type == "cuda"
    n_tokens = n_tokens or (1 << 20 if cuda else 8192)
    tokenized = random_corpus(n_tokens, window)
    config = ScoreConfig(top_k=top_k, window=window)
    fixed = ScoreConfig(top_k=top_k, window=window, batch_tokens=FORWARD_BATCH_TOKENS)
    eager = Scorer(lm, fixed, post="eager")
    runs: dict[str, Any] = {"forward": lambda: forward_pass(lm, tokenized, window)}
    batch_tokens = fixed.batch_tokens
    if cuda:
        fused_auto = Scorer(lm, config, post="fused")  # batch size probed from free memory
        fused_fixed = Scorer(lm, fixed, post="fused")
        batch_tokens = fused_auto.config.batch_tokens
        runs["fused"] = lambda: fused_auto.score_tokenized(tokenized)
        runs["fused_64x1024"] = lambda: fused_fixed.score_tokenized(tokenized)
    runs["eager"] = lambda: eager.score_tokenized(tokenized)
    warm = tokenized[: min(len(tokenized), 4)]
    forward_pass(lm, warm, window)  # warm-up: kernels compiled, cuBLAS picked
    for post in ("eager", "fused") if cuda else ("eager",):
        Scorer(lm, fixed, post=post).score_tokenized(warm)
    first: dict[str, float] = {}
    if compile_backend:
        runs = {name: runs[name] for name in ("forward", "fused" if cuda else "eager")}
        compiled, first = compiled_ways(lm, runs, compile_backend)
        runs |= compiled
    best, peaks, outputs = _best_of(lm, runs, repeats)
    figures = _about(lm, shape, window, top_k, len(tokenized) * window, repeats)
    figures |= {
        "scoring_batch_tokens": batch_tokens,
        "head_float32_rel_err": head_error(lm),
        "head_float32": eager.head.state.path,  # how a half-precision head wrote float32 logits
    }
    for name, seconds in best.items():
        figures[f"{name}_tok_s"] = figures["tokens"] / seconds
        figures[f"{name}_peak_gpu_gb"] = peaks[name] / 1e9
    if compile_backend:
        figures["compile_backend"] = compile_backend
        figures |= {f"{name}_first_run_s": s for name, s in first.items()}
    scoring = "fused" if cuda else "eager"
    pairs = [("fused", "eager")] if "eager" in outputs and cuda else []
    pairs += [(f"{scoring}_compiled", scoring)] if compile_backend else []
    for a, b in pairs:
        figures |= {f"{a}_vs_{b}_{k}": v for k, v in agreement(outputs[a], outputs[b]).items()}
    return figures


def _about(
    lm: LoadedModel, shape: str, window: int, top_k: int, tokens: int, repeats: int
) -> dict[str, Any]:
    """What was measured, on what: the head of every report."""
    import torch

    cuda = lm.device.type == "cuda"
    return {
        "shape": shape,
        "model": lm.source.name,
        "n_params": lm.n_params,
        "device": lm.device.type,
        "card": torch.cuda.get_device_name(lm.device) if cuda else "cpu",
        "torch": torch.__version__,
        "dtype": str(lm.dtype).removeprefix("torch."),
        "window": window,
        "top_k": top_k,
        "tokens": tokens,
        "repeats": repeats,
        "forward_batch_tokens": FORWARD_BATCH_TOKENS,
    }


def measure_checks(
    shape: str,
    device: str = "auto",
    dtype: str = "auto",
    n_tokens: int | None = None,
    window: int = 1024,
    top_k: int = defaults.TOP_K,
    profile: bool = True,
    oom: bool = True,
) -> dict[str, Any]:
    """`--profile` and `--oom` (`card.py`) on a random-weight model of `shape`, scoring as
    `inspector score` does (fused on CUDA, batch size from free memory)."""
    lm = random_model(shape, device, dtype)
    cuda = lm.device.type == "cuda"
    n_tokens = n_tokens or (2 * TOO_BIG_ROWS * window if cuda else 2048)
    tokenized = random_corpus(n_tokens, window)
    scorer = Scorer(lm, ScoreConfig(top_k=top_k, window=window))
    figures = _about(lm, shape, window, top_k, len(tokenized) * window, 1)
    figures["scoring_batch_tokens"] = scorer.config.batch_tokens
    if profile:
        figures["profile"] = profile_scoring(scorer, tokenized)
    if oom:
        figures["oom"] = oom_check(lm, tokenized, scorer)
    return figures


def _best_of(
    lm: LoadedModel, runs: dict[str, Any], repeats: int
) -> tuple[dict[str, float], dict[str, int], dict[str, Any]]:
    """Each run `repeats` times, interleaved (so drift hits all alike): its best seconds,
    that run's peak GPU memory, and its last output."""
    best: dict[str, float] = {}
    peaks: dict[str, int] = {}
    outputs: dict[str, Any] = {}
    for _ in range(repeats):
        for name, run in runs.items():
            seconds, out, peak = timed(lm, run)
            if seconds < best.get(name, float("inf")):
                best[name], peaks[name] = seconds, peak
            outputs[name] = out
    return best, peaks, outputs


def format_report(r: dict[str, Any]) -> str:
    head = (
        f"; float32 logits by {r['head_float32']} (error {r['head_float32_rel_err']:.1e} of the largest)"
        if r["dtype"] != "float32" and "head_float32" in r
        else ""
    )
    lines = [
        f"inspector bench --shape {r['shape']}: {r['n_params'] / 1e6:,.0f}M parameters, random weights, "
        f"{r['dtype']} on {r['card']} (torch {r['torch']})",
        f"{r['tokens']:,} tokens in windows of {r['window']}, top-{r['top_k']}, "
        + ("checks" if "profile" in r or "oom" in r else f"best of {r['repeats']}{head}"),
    ]
    fused = "one-pass Triton post-processing"
    compiled = f", body under torch.compile ({r.get('compile_backend')})"
    forward = f"plain forward pass, full {r['dtype']} logits, batches of {r['forward_batch_tokens']:,} tokens"
    probed = f"batches of {r['scoring_batch_tokens']:,} tokens (from free memory)"
    eager = f"scoring, plain torch post-processing, batches of {r['forward_batch_tokens']:,} tokens"
    rows = {
        "forward": forward,
        "forward_compiled": forward + compiled,
        "fused": f"scoring, {fused}, {probed}",
        "fused_compiled": f"scoring, {fused}, {probed}{compiled}",
        "fused_64x1024": f"scoring, {fused}, batches of {r['forward_batch_tokens']:,} tokens",
        "eager": eager,
        "eager_compiled": eager + compiled,
    }
    for name, what in rows.items():
        if f"{name}_tok_s" in r:
            peak = r[f"{name}_peak_gpu_gb"]
            mem = f", peak {peak:.1f} GB" if peak else ""
            ratio = r[f"{name}_tok_s"] / r["forward_tok_s"]
            first = r.get(f"{name}_first_run_s")
            first_run = f", first run {first:.1f} s" if first is not None else ""
            lines.append(
                f"  {name:<16} {r[f'{name}_tok_s']:>12,.0f} tokens/s {ratio:5.2f}x forward   {what}{mem}{first_run}"
            )
    for key in r:
        if key.endswith("_max_abs_nll_diff") and "_vs_" in key:
            pair = key.removesuffix("_max_abs_nll_diff")
            a, b = pair.split("_vs_")
            lines.append(
                f"{a} vs {b}: max |nll diff| {r[key]:.2e}, max |entropy diff| "
                f"{r[pair + '_max_abs_entropy_diff']:.2e}, ranks equal {r[pair + '_rank_equal_share']:.4%}, "
                f"top-1 equal {r[pair + '_top1_equal_share']:.4%}, max |top logprob diff| "
                f"{r[pair + '_max_abs_top_logprob_diff']:.2e}"
            )
    return "\n".join(lines + format_card(r))


def run_shape_bench(args: argparse.Namespace) -> int:
    if args.profile or args.oom:
        results = measure_checks(
            args.shape,
            args.device,
            args.dtype,
            n_tokens=args.tokens,
            window=args.window or 1024,
            top_k=args.top_k,
            profile=args.profile,
            oom=args.oom,
        )
    else:
        results = measure_shape(
            args.shape,
            args.device,
            args.dtype,
            n_tokens=args.tokens,
            window=args.window or 1024,
            top_k=args.top_k,
            repeats=args.repeats or 3,
            compile_backend="inductor" if args.compile else None,
        )
    print(json.dumps(results) if args.json else format_report(results))
    return 0
