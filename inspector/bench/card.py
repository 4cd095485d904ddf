"""What only a GPU can show about scoring, on a random-weight model of a named shape:

- `--profile`: where scoring's time goes. One scoring pass under torch's profiler; the time
  of each stage (`inspector/lm/stages.py`: model body, head, post-processing, copy to the
  host, writing out) on the host and on the device, the GPU kernels that took longest, and
  how busy the GPU was (kernel time / wall time: well under 1 means the host holds it up).
- `--oom`: the out-of-memory path, with a real out-of-memory error. The process is held to
  the memory that a batch of FIT_ROWS windows took, plus a tenth; then asked for batches of
  TOO_BIG_ROWS windows, scoring must halve them until they fit and give the same numbers.
- `--compile`: the model body under `torch.compile`, side by side with it as it is: the
  plain forward pass and scoring end to end, best of `repeats`, and the first run's
  seconds (compilation included).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np

from inspector.errors import ModelError
from inspector.lm.batching import Tokenized
from inspector.lm.loading import LoadedModel
from inspector.lm.scorer import Scorer
from inspector.lm.stages import STAGES

FIT_ROWS = 64  # windows in the batch whose memory the process is held to
TOO_BIG_ROWS = 256  # windows asked for under that limit: halved twice, or more
TOP_KERNELS = 12


def sync(lm: LoadedModel) -> None:
    """Wait for the GPU, if there is one."""
    import torch

    if lm.device.type == "cuda":
        torch.cuda.synchronize(lm.device)


def timed(lm: LoadedModel, fn: Callable[[], Any]) -> tuple[float, Any, int]:
    """Seconds, result and peak GPU memory (bytes; 0 elsewhere) of fn()."""
    import torch

    cuda = lm.device.type == "cuda"
    sync(lm)
    if cuda:
        torch.cuda.reset_peak_memory_stats(lm.device)
    started = time.perf_counter()
    result = fn()
    sync(lm)
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


def profile_scoring(scorer: Scorer, tokenized: Sequence[Tokenized]) -> dict[str, Any]:
    """Scoring `tokenized` once under torch's profiler (after an untimed warm-up)."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    lm = scorer.lm
    cuda = lm.device.type == "cuda"
    scorer.score_tokenized(tokenized[:2])
    sync(lm)
    prof = profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else []))
    with _quiet_stderr():  # the profiler's own "USDT: ... profiler_start" line
        prof.start()
    started = time.perf_counter()
    scorer.score_tokenized(tokenized)
    sync(lm)
    wall = time.perf_counter() - started
    with _quiet_stderr():
        prof.stop()
    events = prof.events()
    stages = {}
    for name in STAGES:
        ranges = [e for e in events if e.name == name and e.device_type == DeviceType.CPU]
        stages[name] = {
            "calls": len(ranges),
            "host_s": sum(e.cpu_time_total for e in ranges) / 1e6,
            "device_s": sum(e.device_time_total for e in ranges) / 1e6,
        }
    kernels: dict[str, list[float]] = {}  # name -> [calls, seconds]
    for e in events:
        if e.device_type != DeviceType.CUDA or e.name in STAGES:
            continue  # a range drawn on the GPU's timeline is not a kernel
        seen = kernels.setdefault(e.name, [0, 0.0])
        seen[0] += 1
        seen[1] += e.device_time_total / 1e6
    busy = sum(s for name, (_, s) in kernels.items() if not name.startswith(("Memcpy", "Memset")))
    top = sorted(kernels.items(), key=lambda kv: -kv[1][1])[:TOP_KERNELS]
    return {
        "tokens": sum(len(t.ids) for t in tokenized),
        "wall_s": wall,
        "gpu_kernel_s": busy,
        "gpu_busy_share": busy / wall if cuda else None,
        "stages": stages,
        "top_kernels": [{"name": n[:90], "calls": int(c), "s": s} for n, (c, s) in top],
    }


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Standard error (the file, where C++ libraries write) sent nowhere for a moment."""
    sys.stderr.flush()
    saved = os.dup(2)
    nowhere = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(nowhere, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(nowhere)


def memory_limit(weights: int, peak: int) -> int:
    """Bytes the process is held to: the peak of a batch that fitted, plus a tenth of what
    that batch took above the weights."""
    return peak + (peak - weights) // 10


def oom_check(lm: LoadedModel, tokenized: Sequence[Tokenized], scorer: Scorer) -> dict[str, Any]:
    """Score with batches of FIT_ROWS windows, hold the process to the memory that took, then
    ask for batches of TOO_BIG_ROWS: they must be halved until they fit, with the same results."""
    import torch

    if lm.device.type != "cuda":
        return {"outcome": "not run: a real out-of-memory error needs a GPU"}
    window = max(len(t.ids) for t in tokenized)
    fits = Scorer(lm, replace(scorer.config, batch_tokens=FIT_ROWS * window), scorer.post)
    dev = lm.device
    sync(lm)
    torch.cuda.empty_cache()
    weights = torch.cuda.memory_allocated(dev)
    _, reference, peak = timed(lm, lambda: fits.score_tokenized(tokenized))
    limit = memory_limit(weights, peak)
    total = torch.cuda.get_device_properties(dev).total_memory
    asked = TOO_BIG_ROWS * window
    big = Scorer(lm, replace(scorer.config, batch_tokens=asked), scorer.post)
    result: dict[str, Any] = {"limit_gb": limit / 1e9, "asked_batch_tokens": asked}
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(limit / total, dev)
    try:
        started = time.perf_counter()
        got = big.score_tokenized(tokenized)
        sync(lm)
        result["seconds"] = time.perf_counter() - started
        result["outcome"] = "completed"
        result.update(agreement(got, reference))
    except ModelError as e:  # even one window did not fit: said, not a crash
        result["outcome"] = f"refused: {e}"
    except torch.OutOfMemoryError as e:  # what must not happen
        result["outcome"] = f"CRASHED: {str(e).splitlines()[0]}"
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, dev)
        torch.cuda.empty_cache()
    result["final_batch_tokens"] = big.token_limit
    return result


def with_body(lm: LoadedModel, body: Any, run: Callable[[], Any]) -> Callable[[], Any]:
    """`run` with the model's body (`lm.model.base_model`) swapped for `body` while it runs."""
    prefix = lm.model.base_model_prefix

    def swapped() -> Any:
        plain = getattr(lm.model, prefix)
        setattr(lm.model, prefix, body)
        try:
            return run()
        finally:
            setattr(lm.model, prefix, plain)

    return swapped


def compiled_ways(
    lm: LoadedModel, runs: dict[str, Callable[[], Any]], backend: str = "inductor"
) -> tuple[dict[str, Callable[[], Any]], dict[str, float]]:
    """Each run again with the body under torch.compile, and the seconds of each one's first
    (untimed) run, compilation included. Shapes are fixed (every batch is full), so
    `dynamic=False`: one compilation per batch shape."""
    import torch

    body = lm.model.base_model
    compiled = torch.compile(body, backend=backend, dynamic=False)
    ways = {f"{name}_compiled": with_body(lm, compiled, run) for name, run in runs.items()}
    first = {}
    for name, run in ways.items():
        started = time.perf_counter()
        run()
        sync(lm)
        first[name] = time.perf_counter() - started
    return ways, first


def format_card(r: dict[str, Any]) -> list[str]:
    """The lines `--profile` and `--oom` add to the report."""
    lines = []
    if "profile" in r:
        p = r["profile"]
        busy = (
            f", GPU busy {p['gpu_busy_share']:.0%} of it" if p["gpu_busy_share"] is not None else ""
        )
        lines.append(
            f"profile: {p['tokens']:,} tokens scored in {p['wall_s']:.3f} s under the profiler"
            f" ({p['tokens'] / p['wall_s']:,.0f} tokens/s){busy}"
        )
        for name, s in p["stages"].items():
            device = f"  device {s['device_s']:8.3f} s" if p["gpu_busy_share"] is not None else ""
            lines.append(f"  {name:<12} {s['calls']:>6} calls  host {s['host_s']:8.3f} s{device}")
        for k in p["top_kernels"]:
            lines.append(f"  {k['s']:8.3f} s {k['calls']:>6} x  {k['name']}")
    if "oom" in r:
        o = r["oom"]
        lines.append(f"out of memory: {o['outcome']}")
        if o["outcome"] == "completed":
            lines.append(
                f"  held to {o['limit_gb']:.2f} GB, asked for batches of {o['asked_batch_tokens']:,} tokens: "
                f"went on at {o['final_batch_tokens']:,}; against batches that fit: max |nll diff| "
                f"{o['max_abs_nll_diff']:.2e}, ranks equal {o['rank_equal_share']:.4%}"
            )
    return lines
