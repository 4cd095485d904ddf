"""Post-processing in one pass over each row of float32 logits: a Triton kernel.

`postprocess.postprocess` reads every row of logits five or more times (max, compare, top-k,
exp, dot); at GPU speeds those passes, not the model, are the bottleneck. Here one program
per row streams the row once, block by block, and keeps everything it needs as it goes:

- an online log-sum-exp: the running maximum `m`, `s = sum exp(x - m)` rescaled whenever
  `m` grows (as in FlashAttention's softmax);
- the entropy's numerator `t = sum exp(x - m) * (x - m)`, rescaled with `s`, so that
  H = log s - t / s without a second pass;
- the rank: 1 + the number of entries scored strictly higher than the target's logit, which
  is read once before the loop;
- for the top-k, the maximum of each group of `GROUP` columns. The k best entries lie in at
  most k groups, and those groups are among the k with the highest maxima (a group holding
  one of them has a maximum at least the k-th best value, and at most k groups do), so the
  top-k is then found among k * GROUP candidates instead of the whole vocabulary: on a
  49,152-token vocabulary 1,536 maxima and 640 candidates, 1/22 of the row.

Every quantity is float32, as DESIGN.md asks. The kernel runs on CUDA; with
`TRITON_INTERPRET=1` Triton runs it on CPU tensors, which is how the tests check it against
`postprocess` on machines without a GPU. `python -m inspector.bench.kernel` compiles it for a
Hopper GPU without one and prints its resource use (registers, spills, vector loads);
`python -m inspector.bench.kernel --sweep` times block sizes and warp counts on a GPU.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

BLOCK = 4096  # columns of a row read at once
GROUP = 32  # columns per group maximum
NUM_WARPS = 8


@functools.cache
def available() -> bool:
    """Whether Triton can be imported (it ships with CUDA builds of torch on Linux)."""
    try:
        import triton  # noqa: F401
    except Exception:
        return False
    return True


def interpreted() -> bool:
    """Whether Triton runs kernels in its CPU interpreter: TRITON_INTERPRET=1, which must be
    set before triton is first imported."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


@functools.cache
def kernel() -> Any:
    """The Triton kernel: compiled for the GPU at first launch, or interpreted."""
    import triton
    import triton.language as tl

    @triton.jit
    def row_stats(
        logits_ptr,
        row_stride,
        targets_ptr,
        nll_ptr,
        entropy_ptr,
        lse_ptr,
        rank_ptr,
        gmax_ptr,
        vocab,
        n_groups,
        BLOCK: tl.constexpr,
        GROUP: tl.constexpr,
    ):
        row = tl.program_id(0).to(tl.int64)
        base = logits_ptr + row * row_stride
        target = tl.load(targets_ptr + row)
        x_target = tl.load(base + target)
        m = tl.full((), -1e30, tl.float32)  # finite, so (m - m_new) * s stays 0 at the start
        s = tl.zeros((), tl.float32)
        t = tl.zeros((), tl.float32)
        higher = tl.zeros((), tl.int32)
        for start in range(0, vocab, BLOCK):
            cols = start + tl.arange(0, BLOCK)
            x = tl.load(base + cols, mask=cols < vocab, other=float("-inf"))
            m_new = tl.maximum(m, tl.max(x, axis=0))
            alpha = tl.exp(m - m_new)
            d = x - m_new
            e = tl.exp(d)
            t = alpha * (t + (m - m_new) * s) + tl.sum(tl.where(e > 0, d, 0.0) * e, axis=0)
            s = alpha * s + tl.sum(e, axis=0)
            m = m_new
            higher += tl.sum((x > x_target).to(tl.int32), axis=0)
            groups = start // GROUP + tl.arange(0, BLOCK // GROUP)
            gmax = tl.max(tl.reshape(x, (BLOCK // GROUP, GROUP)), axis=1)
            tl.store(gmax_ptr + row * n_groups + groups, gmax, mask=groups < n_groups)
        log_s = tl.log(s)
        tl.store(nll_ptr + row, m + log_s - x_target)
        tl.store(entropy_ptr + row, log_s - t / s)
        tl.store(lse_ptr + row, m + log_s)
        tl.store(rank_ptr + row, higher + 1)

    return row_stats


def fused_postprocess(
    logits: torch.Tensor,
    targets: torch.Tensor,
    k: int,
    block: int = BLOCK,
    num_warps: int = NUM_WARPS,
) -> dict[str, torch.Tensor]:
    """What `scoring.postprocess` returns, from one pass over each row; `logits` is not changed.

    logits: (rows, vocab) float32 with unit stride along the vocabulary; targets: (rows,)
    int64. On a CPU tensor the kernel runs in Triton's interpreter (slow; for tests).
    """
    import torch

    rows, vocab = logits.shape
    if logits.dtype != torch.float32 or logits.stride(1) != 1:
        raise ValueError("fused_postprocess needs float32 logits with unit column stride")
    if not 1 <= k <= vocab or block % GROUP or block & (block - 1):
        raise ValueError(f"need 1 <= k <= {vocab} and a power-of-two block of whole groups")
    dev = logits.device
    n_groups = -(-vocab // GROUP)
    nll = torch.empty(rows, dtype=torch.float32, device=dev)
    entropy = torch.empty(rows, dtype=torch.float32, device=dev)
    lse = torch.empty(rows, dtype=torch.float32, device=dev)
    rank = torch.empty(rows, dtype=torch.int32, device=dev)
    gmax = torch.empty((rows, n_groups), dtype=torch.float32, device=dev)
    if dev.type != "cuda" and not interpreted():
        raise ValueError(
            "the fused kernel runs on CUDA, or on a CPU in Triton's interpreter "
            "(TRITON_INTERPRET=1 before triton is imported)"
        )
    if rows:
        kernel()[(rows,)](
            logits,
            logits.stride(0),
            targets.contiguous(),
            nll,
            entropy,
            lse,
            rank,
            gmax,
            vocab,
            n_groups,
            BLOCK=block,
            GROUP=GROUP,
            num_warps=num_warps,
        )
    # the k groups with the highest maxima hold the top-k; their columns are the candidates
    best_groups = gmax.topk(min(k, n_groups), dim=1).indices  # (rows, g)
    cols = best_groups[:, :, None] * GROUP + torch.arange(GROUP, device=dev)  # (rows, g, GROUP)
    cols = cols.view(rows, -1)  # (rows, g * GROUP)
    candidates = logits.gather(1, cols.clamp(max=vocab - 1))
    candidates = candidates.masked_fill(cols >= vocab, float("-inf"))  # past the last column
    top_logits, which = candidates.topk(k, dim=1)  # (rows, k), best first
    return {
        "nll": nll,
        "rank": rank,
        "entropy": entropy,
        "top_ids": cols.gather(1, which),
        "top_logprobs": top_logits - lse[:, None],
    }
