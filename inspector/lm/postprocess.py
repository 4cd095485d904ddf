"""Loss, rank, entropy and the top-k of each target from float32 logits, in plain torch (the
fused Triton kernel in `fused.py` computes the same in one pass on a GPU)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def postprocess(logits: torch.Tensor, targets: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
    """Loss, rank, entropy and top-k from float32 logits, overwriting `logits`.

    logits: (rows, vocab) float32, owned by the caller and clobbered; targets: (rows,) int64.
    Rank is 1 + the number of entries scored strictly higher than the target; nothing is
    sorted. Every quantity is taken from logits shifted by their row maximum, which keeps
    the sums stable and costs one in-place pass.
    """
    import torch

    shifted = logits.sub_(logits.amax(dim=-1, keepdim=True))  # (rows, vocab), max 0
    target = shifted.gather(1, targets[:, None])  # (rows, 1)
    rank = (shifted > target).sum(dim=-1, dtype=torch.int32) + 1  # (rows,)
    top_shifted, top_ids = shifted.topk(k, dim=-1)  # (rows, k)
    e = torch.exp(shifted)  # (rows, vocab)
    total = e.sum(dim=-1)  # (rows,)
    log_total = torch.log(total)  # (rows,) = logsumexp - max
    expected = (
        torch.linalg.vecdot(e, shifted) / total
    )  # (rows,) E_p[shifted]; bmm is faster but loses ~1e-4
    unset = expected.isnan()  # a row with -inf logits: 0 * -inf; such entries add nothing
    if unset.any():
        rows = shifted[unset]
        expected[unset] = torch.linalg.vecdot(e[unset], rows.masked_fill(rows == -torch.inf, 0))
        expected[unset] /= total[unset]
    return {
        "nll": log_total - target.view(-1),
        "rank": rank,
        "entropy": log_total - expected,  # H = logsumexp - E_p[logit]
        "top_ids": top_ids,
        "top_logprobs": top_shifted - log_total[:, None],
    }
