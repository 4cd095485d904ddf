"""Which earlier tokens a prediction leans on: attribution of one target's log-probability to
each token of its context.

Two methods, both on the model input that scored the target (`lens.target_context`: the
document-start token first, the target predicted from the last position):

- occlusion (exact, model-agnostic): the change in the target's loss when a context token,
  or a group of them such as a word, is removed; every removal is one forward pass, batched
  (the inputs all have the same length, so no padding). Positive: the token helped, the
  target is harder without it. It costs one pass per token of context.
- gradient x input: the gradient of the target's log-probability with respect to each input
  embedding, dotted with that embedding (a first-order estimate of what zeroing it would do);
  one forward and one backward pass for the whole context. Positive: pushes towards the
  target.

The document-start token is never occluded (the model is not trained to read without it)
and is left out of the distance statistics: models park attention there (an attention
sink), so its attribution says little about which words the prediction uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from inspector.lm.loading import LoadedModel

OCCLUSION_BATCH_TOKENS = 16_384  # tokens per batched forward pass of occluded inputs


@dataclass(frozen=True)
class Attribution:
    """Per token of one target's context (the model input, document-start token first)."""

    method: str  # "occlusion" or "gradient"
    input_ids: np.ndarray  # (n,) the context as the model read it
    scores: np.ndarray  # (n,) nats; NaN where not measured (the document-start token)
    target_id: int
    nll: float  # the target's loss with the whole context

    @property
    def distance(self) -> np.ndarray:
        """How far back each context token is from the target: 1 for the token just before."""
        return np.arange(len(self.input_ids), 0, -1)

    def top(self, n: int) -> list[tuple[int, float]]:
        """The `n` context positions with the largest |score|, largest first."""
        scores = np.where(np.isnan(self.scores), 0.0, self.scores)
        order = np.argsort(-np.abs(scores), kind="stable")[:n]
        return [(int(i), float(scores[i])) for i in order if scores[i] != 0]


def target_nll(lm: LoadedModel, input_ids: Sequence[int], target_id: int) -> float:
    """The target's loss predicted from the last position of `input_ids` (float64 softmax)."""
    import torch

    ids = torch.as_tensor([list(input_ids)], dtype=torch.long, device=lm.device)
    with torch.inference_mode():
        logits = lm.model(input_ids=ids, use_cache=False, logits_to_keep=1).logits[0, -1]
    return float(-torch.log_softmax(logits.double(), -1)[target_id])


def occlusion(
    lm: LoadedModel,
    input_ids: Sequence[int],
    target_id: int,
    groups: Sequence[Sequence[int]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Attribution:
    """Each context token's (or each group's: `groups` of positions, such as a word's pieces)
    effect on the target's loss: loss without it minus loss with everything. A group's
    score is given to each of its positions. Position 0 (the document-start token) is kept."""
    import torch

    ids = list(input_ids)
    n = len(ids)
    given = [[j] for j in range(1, n)] if groups is None else groups
    kept_groups = [sorted(set(g) - {0}) for g in given]
    chosen: list[list[int]] = [g for g in kept_groups if g]
    base = target_nll(lm, ids, target_id)
    scores = np.full(n, np.nan)
    by_length: dict[int, list[list[int]]] = {}
    for g in chosen:  # inputs of one length go together
        by_length.setdefault(n - len(g), []).append(g)
    done = 0
    for length, same in by_length.items():
        per_batch = max(1, OCCLUSION_BATCH_TOKENS // max(1, length))
        for first in range(0, len(same), per_batch):
            chunk = same[first : first + per_batch]
            kept = [np.setdiff1d(np.arange(n), g) for g in chunk]
            batch = torch.as_tensor(np.asarray(ids)[np.stack(kept)], dtype=torch.long,
                                    device=lm.device)  # fmt: skip
            with torch.inference_mode():
                logits = lm.model(input_ids=batch, use_cache=False, logits_to_keep=1).logits[:, -1]
            nll = -torch.log_softmax(logits.double(), -1)[:, target_id].cpu().numpy()
            for g, value in zip(chunk, nll, strict=True):
                scores[g] = value - base
            done += len(chunk)
            if progress is not None:
                progress(done, len(chosen))
    return Attribution("occlusion", np.asarray(ids), scores, int(target_id), base)


def gradient_x_input(lm: LoadedModel, input_ids: Sequence[int], target_id: int) -> Attribution:
    """Gradient x input of the target's log-probability at each input embedding (summed over
    the embedding's dimensions): one forward and one backward pass."""
    scores, nll = gradient_x_input_at(lm, input_ids, [len(input_ids) - 1], [target_id])
    return Attribution("gradient", np.asarray(list(input_ids)), scores[0], int(target_id),
                       float(nll[0]))  # fmt: skip


def gradient_x_input_at(
    lm: LoadedModel,
    input_ids: Sequence[int],
    positions: Sequence[int],
    targets: Sequence[int],
    each: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient x input for several targets of one input: `targets[i]` predicted from
    `positions[i]`. One forward pass, one backward pass per target (`each(i + 1)` after
    each, for progress). Returns the scores (targets, n: zero after each target's position,
    NaN at the document-start token) and the targets' losses."""
    import torch

    model = lm.model
    ids = torch.as_tensor([list(input_ids)], dtype=torch.long, device=lm.device)
    where = torch.as_tensor(list(positions), dtype=torch.long, device=lm.device)
    with torch.no_grad():
        embeds = model.get_input_embeddings()(ids)
    embeds = embeds.detach().requires_grad_(True)
    scores = np.empty((len(where), ids.shape[1]), dtype=np.float64)
    with torch.enable_grad():
        logits = model(inputs_embeds=embeds, use_cache=False, logits_to_keep=where).logits[0]
        wide = logits.to(torch.promote_types(logits.dtype, torch.float32))
        logprobs = torch.log_softmax(wide, -1)[
            torch.arange(len(where)), torch.as_tensor(list(targets))
        ]
        for i in range(len(where)):
            (grad,) = torch.autograd.grad(logprobs[i], embeds, retain_graph=i + 1 < len(where))
            scores[i] = (grad[0] * embeds[0]).sum(-1).double().detach().cpu().numpy()
            if each is not None:
                each(i + 1)
    scores[:, 0] = np.nan  # the document-start token: an attention sink, not a word
    return scores, -logprobs.detach().double().cpu().numpy()


METHODS: dict[str, Callable[..., Attribution]] = {
    "occlusion": occlusion,
    "gradient": gradient_x_input,
}


def attribute(
    lm: LoadedModel, method: str, input_ids: Sequence[int], target_id: int
) -> Attribution:
    """`method` ("occlusion" or "gradient") for one target."""
    return METHODS[method](lm, input_ids, target_id)
