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


def _sync(lm: LoadedModel) -> None:
    import torch

    if lm.device.type == "cuda":
        torch.cuda.synchronize(lm.device)


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
    _sync(lm)


def _timed(lm: LoadedModel, fn: Any) -> tuple[float, Any, int]:
    """Seconds, result and peak GPU memory (bytes; 0 elsewhere) of fn()."""
    import torch

    cuda = lm.device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(lm.device)
        torch.cuda.reset_peak_memory_stats(lm.device)
    started = time.perf_counter()
    result = fn()
    _sync(lm)
    seconds = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated(lm.device) if cuda else 0
    return seconds, result, peak


def agreement(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, float]:
    """How far two scorings of the same targets are apart."""
    return {
        "max_abs_nll_diff": float(np.abs(a["nll"] - b["nll"]).max()),
        "max_abs_entropy_diff": float(np.abs(a["entropy"] - b["entropy"]).max()),
        "rank_equal_share": float((a["rank"] == b["rank"]).mean()),
        "top1_equal_share": float((a["top_ids"][:, 0] == b["top_ids"][:, 0]).mean()),
        "max_abs_top_logprob_diff": float(np.abs(a["top_logprobs"] - b["top_logprobs"]).max()),
    }


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
) -> dict[str, Any]:
    """Forward, fused and eager scoring tokens/s on a random-weight model of `shape`."""
    import torch

    lm = random_model(shape, device, dtype)
    cuda = lm.device.type == "cuda"
    n_tokens = n_tokens or (1 << 20 if cuda else 8192)
    tokenized = random_corpus(n_tokens, window)
    total = len(tokenized) * window
    config = ScoreConfig(top_k=top_k, window=window)
    fixed = ScoreConfig(top_k=top_k, window=window, batch_tokens=FORWARD_BATCH_TOKENS)
    eager = Scorer(lm, fixed, post="eager")
    runs: dict[str, Any] = {
        "forward": lambda: forward_pass(lm, tokenized, window),
        "eager": lambda: eager.score_tokenized(tokenized),
    }
    batch_tokens = fixed.batch_tokens
    if cuda:
        fused_auto = Scorer(lm, config, post="fused")  # batch size probed from free memory
        fused_fixed = Scorer(lm, fixed, post="fused")
        batch_tokens = fused_auto.config.batch_tokens
        runs["fused"] = lambda: fused_auto.score_tokenized(tokenized)
        runs["fused_64x1024"] = lambda: fused_fixed.score_tokenized(tokenized)
    warm = tokenized[: min(len(tokenized), 4)]
    forward_pass(lm, warm, window)  # warm-up: kernels compiled, cuBLAS picked
    for post in ("eager", "fused") if cuda else ("eager",):
        Scorer(lm, fixed, post=post).score_tokenized(warm)
    best, peaks, outputs = _best_of(lm, runs, repeats)
    figures: dict[str, Any] = {
        "shape": shape,
        "model": lm.source.name,
        "n_params": lm.n_params,
        "device": lm.device.type,
        "card": torch.cuda.get_device_name(lm.device) if cuda else "cpu",
        "torch": torch.__version__,
        "dtype": str(lm.dtype).removeprefix("torch."),
        "window": window,
        "top_k": top_k,
        "tokens": total,
        "repeats": repeats,
        "scoring_batch_tokens": batch_tokens,
        "forward_batch_tokens": FORWARD_BATCH_TOKENS,
        "head_float32_rel_err": head_error(lm),
        "head_float32": eager.head.state.path,  # how a half-precision head wrote float32 logits
    }
    for name, seconds in best.items():
        figures[f"{name}_tok_s"] = total / seconds
        figures[f"{name}_peak_gpu_gb"] = peaks[name] / 1e9
    if "fused" in outputs:
        figures.update(
            {
                f"fused_vs_eager_{k}": v
                for k, v in agreement(outputs["fused"], outputs["eager"]).items()
            }
        )
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
            seconds, out, peak = _timed(lm, run)
            if seconds < best.get(name, float("inf")):
                best[name], peaks[name] = seconds, peak
            outputs[name] = out
    return best, peaks, outputs


def format_report(r: dict[str, Any]) -> str:
    head = (
        f"; float32 logits by {r['head_float32']} (error {r['head_float32_rel_err']:.1e} of the largest)"
        if r["dtype"] != "float32"
        else ""
    )
    lines = [
        f"inspector bench --shape {r['shape']}: {r['n_params'] / 1e6:,.0f}M parameters, random weights, "
        f"{r['dtype']} on {r['card']} (torch {r['torch']})",
        f"{r['tokens']:,} tokens in windows of {r['window']}, top-{r['top_k']}, "
        f"best of {r['repeats']}{head}",
    ]
    rows = [
        (
            "forward",
            f"plain forward pass, full {r['dtype']} logits, batches of {r['forward_batch_tokens']:,} tokens",
        ),
        (
            "fused",
            f"scoring, one-pass Triton post-processing, batches of {r['scoring_batch_tokens']:,} tokens (from free memory)",
        ),
        (
            "fused_64x1024",
            f"scoring, one-pass Triton post-processing, batches of {r['forward_batch_tokens']:,} tokens",
        ),
        (
            "eager",
            f"scoring, plain torch post-processing, batches of {r['forward_batch_tokens']:,} tokens",
        ),
    ]
    for name, what in rows:
        if f"{name}_tok_s" in r:
            peak = r[f"{name}_peak_gpu_gb"]
            mem = f", peak {peak:.1f} GB" if peak else ""
            lines.append(f"  {name:<14} {r[f'{name}_tok_s']:>12,.0f} tokens/s   {what}{mem}")
    if "fused_vs_eager_max_abs_nll_diff" in r:
        lines.append(
            "fused vs eager: max |nll diff| {:.2e}, max |entropy diff| {:.2e}, ranks equal {:.4%}, "
            "top-1 equal {:.4%}, max |top logprob diff| {:.2e}".format(
                r["fused_vs_eager_max_abs_nll_diff"],
                r["fused_vs_eager_max_abs_entropy_diff"],
                r["fused_vs_eager_rank_equal_share"],
                r["fused_vs_eager_top1_equal_share"],
                r["fused_vs_eager_max_abs_top_logprob_diff"],
            )
        )
    return "\n".join(lines)


def run_shape_bench(args: argparse.Namespace) -> int:
    results = measure_shape(
        args.shape,
        args.device,
        args.dtype,
        n_tokens=args.tokens,
        window=args.window or 1024,
        top_k=args.top_k,
        repeats=args.repeats or 3,
    )
    print(json.dumps(results) if args.json else format_report(results))
    return 0
