"""The reference every score is checked against: a plain transformers forward pass."""

from __future__ import annotations

from typing import Any

import torch


@torch.no_grad()
def reference_scores(model: Any, inputs: list[int]) -> dict[str, torch.Tensor]:
    """nll, rank and entropy of each of inputs[1:], predicted from what precedes it, from full logits."""
    ids = torch.tensor([inputs])  # (1, time)
    logits = model(input_ids=ids).logits[0].float()  # (time, vocab)
    logp = torch.log_softmax(logits, dim=-1)
    targets = ids[0, 1:]
    logp = logp[:-1]
    logits = logits[:-1]
    target_logit = logits.gather(1, targets[:, None])
    return {
        "nll": -logp.gather(1, targets[:, None]).squeeze(1),
        "rank": (logits > target_logit).sum(-1) + 1,
        "entropy": -(logp.exp() * logp).sum(-1),
    }


def full_sequence_scores(model: Any, prefix: int, tokens: list[int]) -> dict[str, torch.Tensor]:
    """Scores of every token of a document predicted from `[prefix] + tokens`, unwindowed."""
    return reference_scores(model, [prefix, *tokens])
