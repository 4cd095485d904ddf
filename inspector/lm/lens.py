"""The logit lens: what the model would predict if it stopped after each layer.

The residual stream after layer i, put through the model's own final norm and output head,
is a next-token distribution; read at a target, its rank, probability and loss say where
inside the model the answer forms (nostalgebraist, "interpreting GPT: the logit lens",
2020). After the last layer it is the model's own prediction, exactly. Its known weakness:
the early layers of some models do not speak the output head's language, so their
distributions read as noise even where the information is there (the tuned lens of
Belrose et al., 2023, learns one affine map per layer for this; `tuned` takes such maps).

Memory stays flat: at most `CHUNK_ROWS` rows of logits at a time (several layers' rows for
few targets, a layer's for many), never every layer's logits for a whole sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from inspector.errors import ModelError, message

if TYPE_CHECKING:
    import torch

    from inspector.lm.loading import LoadedModel

CHUNK_ROWS = 256  # rows of logits at once (256 x a 49,152 vocabulary: 50 MB of float32)
# where the final norm lives, by architecture (the first that exists is used)
FINAL_NORMS = ("model.norm", "transformer.ln_f", "gpt_neox.final_layer_norm",
               "model.decoder.final_layer_norm", "transformer.norm_f", "backbone.norm_f",
               "model.final_layernorm", "model.norm_f", "model.layer_norm", "biogpt.layer_norm",
               "transformer.layernorm", "gpt_neox_japanese.final_layer_norm",
               "model.embedding_norm", "rwkv.ln_out")  # fmt: skip
# families whose layers norm their own output (post-norm): the head reads a layer's stream as
# it is
NO_FINAL_NORM = ("openai-gpt", "trocr")
# a projection some families apply after the final norm, before the head (OPT-350M)
PROJECTIONS = ("model.decoder.project_out",)


@dataclass(frozen=True)
class Depth:
    """The lens at some targets: one row per target, one column per layer (1..L)."""

    target_ids: np.ndarray  # (targets,)
    rank: np.ndarray  # (targets, layers): 1 + the tokens scored strictly higher
    nll: np.ndarray  # (targets, layers), nats
    top_id: np.ndarray  # (targets, layers): each layer's most likely next token

    @property
    def layers(self) -> int:
        return int(self.rank.shape[1])

    @property
    def prob(self) -> np.ndarray:
        return np.exp(-self.nll)

    def settled(self) -> np.ndarray:
        """Per target, the first layer (from 1) at which the target is top-1 and stays top-1
        to the last layer; 0 where the model's own prediction is not the target."""
        top = self.rank == 1
        # the layers from the end that are all top-1, counted from the last one back
        stays = np.cumprod(top[:, ::-1], axis=1).sum(axis=1)
        return np.where(stays > 0, self.layers - stays + 1, 0)


def _module(model: Any, path: str) -> Any:
    found: Any = model
    for part in path.split("."):
        found = getattr(found, part, None)
        if found is None:
            return None
    return found


def final_norm(model: Any) -> Any:
    """What the model applies to its last layer's stream before the output head, found by
    architecture: its final norm, then a projection where it has one (OPT's `project_out`)."""
    if getattr(model.config, "model_type", "") in NO_FINAL_NORM:
        return lambda h: h
    norm = next((m for m in map(partial(_module, model), FINAL_NORMS) if m is not None), None)
    if norm is None:
        raise ModelError(
            message("lens_no_norm", model=type(model).__name__, paths=", ".join(FINAL_NORMS))
        )
    project = next((m for m in map(partial(_module, model), PROJECTIONS) if m is not None), None)
    return norm if project is None else (lambda h: project(norm(h)))


def logit_lens(
    lm: LoadedModel,
    input_ids: Sequence[int],
    positions: Sequence[int],
    targets: Sequence[int],
    tuned: Sequence[Any] | None = None,
) -> Depth:
    """The lens at `positions` of one model input (`input_ids`, the context as the model
    reads it, document-start token included): the prediction made there of `targets`, at
    every layer. `tuned`: one callable per layer but the last (a tuned lens's translators),
    applied to the residual stream before the final norm."""
    import torch

    from inspector.lm.head import Head

    model = lm.model
    where = torch.as_tensor(list(positions), dtype=torch.long, device=lm.device)
    want = torch.as_tensor(list(targets), dtype=torch.long, device=lm.device)
    ids = torch.as_tensor([list(input_ids)], dtype=torch.long, device=lm.device)
    head, norm = Head(model), final_norm(model)
    with torch.inference_mode():
        out = model(input_ids=ids, output_hidden_states=True, use_cache=False, logits_to_keep=1)
        return _depth(out.hidden_states, where, want, head, norm, tuned)


def _depth(states: Any, where: torch.Tensor, want: torch.Tensor, head: Any, norm: Any,
           tuned: Any) -> Depth:  # fmt: skip
    """The lens at positions `where` of `states` (a forward pass's hidden states: the
    embeddings, then after each layer, the last already normed) for the tokens `want`."""
    import torch

    with torch.inference_mode():
        layers = len(states) - 1
        if tuned is not None and len(tuned) != layers - 1:
            raise ModelError(message("lens_tuned_count", need=layers - 1, have=len(tuned)))
        rank = np.empty((len(where), layers), dtype=np.int64)
        nll = np.empty((len(where), layers), dtype=np.float64)
        top = np.empty((len(where), layers), dtype=np.int64)
        # several layers through the head in one product, at most CHUNK_ROWS rows of logits
        per_chunk = max(1, CHUNK_ROWS // max(1, len(where)))
        for first in range(1, layers + 1, per_chunk):
            chunk = range(first, min(layers, first + per_chunk - 1) + 1)
            h = torch.cat([_stream(states, layer, where, norm, tuned) for layer in chunk])
            r, n, t = _read(head(h), want.repeat(len(chunk)))
            span = slice(chunk[0] - 1, chunk[-1])
            shape = (len(chunk), len(where))
            rank[:, span], nll[:, span], top[:, span] = (a.reshape(shape).T for a in (r, n, t))
    return Depth(want.cpu().numpy().astype(np.int64), rank, nll, top)


class DocumentLens:
    """The lens at any position of one model input, from a key-value cache kept across
    calls: the app's depth screen as the cursor moves through a document. The cache holds
    the furthest position asked so far; a later one extends it by the tokens between, an
    earlier one reads a copy cut to its length, and only the target's own position is run
    through the model with every layer's hidden state kept. Equal to `logit_lens` on the
    same input to float32's rounding (a one-token pass sums in another order)."""

    def __init__(self, lm: LoadedModel, input_ids: Sequence[int]) -> None:
        import threading

        self.lm, self.ids = lm, list(input_ids)
        self.cache: Any = None
        self.length = 0  # positions the cache holds
        self._lock = threading.Lock()  # two screens' workers: one at a time

    def at(self, position: int, target: int) -> Depth:
        """The lens at input `position` (its prediction of `target`, the next token)."""
        with self._lock:
            return self._at(position, target)

    def _at(self, position: int, target: int) -> Depth:
        import copy

        import torch

        from inspector.lm.continuations import cache_argument, cache_of
        from inspector.lm.head import Head

        if not 0 <= position < len(self.ids):
            raise ValueError(f"position {position} is outside the input of {len(self.ids)} tokens")
        model, device = self.lm.model, self.lm.device
        kw = cache_argument(model)
        with torch.inference_mode():
            if self.length < position:  # extend: the tokens up to the position, once
                more = torch.tensor([self.ids[self.length : position]], device=device)
                out = model(input_ids=more, use_cache=True, logits_to_keep=1,
                            **({kw: self.cache} if self.cache is not None else {}))  # fmt: skip
                self.cache, self.length = cache_of(out), position
            cache = None
            if position > 0:
                cache = copy.deepcopy(self.cache)
                if self.length > position:
                    cache.crop(position - self.length)  # negative: tokens to drop
            one = torch.tensor([[self.ids[position]]], device=device)
            out = model(input_ids=one, use_cache=True, output_hidden_states=True,
                        logits_to_keep=1, **({kw: cache} if cache is not None else {}))  # fmt: skip
        where = torch.zeros(1, dtype=torch.long, device=device)
        want = torch.tensor([target], dtype=torch.long, device=device)
        return _depth(out.hidden_states, where, want, Head(model), final_norm(model), None)


def _stream(states: Any, layer: int, where: torch.Tensor, norm: Any, tuned: Any) -> torch.Tensor:
    """Layer `layer`'s residual stream at `where`, normed as the head expects it (HF
    returns the last layer's already normed)."""
    h = states[layer][0, where]
    if layer == len(states) - 1:
        return h
    if tuned is not None:
        h = tuned[layer - 1](h)
    return norm(h)


def read_tuned(path: Path) -> dict[str, Any]:
    """A tuned lens file's tensors (the `params.pt` of the tuned-lens package: a state dict
    of `layer_translators.{i}.weight` and `.bias`), read before any model is loaded."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a file that is not its own
        if isinstance(e, OSError):
            reason = e.strerror or type(e).__name__
        else:
            reason = "not a file of tensors that torch.save wrote"
        raise ModelError(message("lens_tuned_unreadable", path=path, reason=reason)) from e
    if not isinstance(state, dict):
        raise ModelError(message("lens_tuned_unreadable", path=path, reason="not a state dict"))
    return state


def load_tuned(path: Path | dict[str, Any], layers: int, width: int) -> list[Any]:
    """A tuned lens (a file, or the tensors `read_tuned` read from one) as callables
    `h + W h + b`, one per layer but the last (its translators learn a residual
    correction), checked against the model's `layers` and `width`."""
    state = read_tuned(path) if not isinstance(path, dict) else path
    where = path if not isinstance(path, dict) else "the tuned lens"
    translators = []
    for i in range(layers - 1):
        weight, bias = (
            state.get(f"layer_translators.{i}.weight"),
            state.get(f"layer_translators.{i}.bias"),
        )
        if weight is None or bias is None:
            have = sum(
                str(k).startswith("layer_translators.") and str(k).endswith(".weight")
                for k in state
            )
            raise ModelError(message("lens_tuned_count", need=layers - 1, have=have))
        if tuple(weight.shape) != (width, width) or tuple(bias.shape) != (width,):
            raise ModelError(message("lens_tuned_shape", path=where, i=i, shape=tuple(weight.shape),
                                     width=width))  # fmt: skip
        translators.append(_Translator(weight.float(), bias.float()))
    return translators


@dataclass(frozen=True)
class _Translator:
    weight: Any
    bias: Any

    def __call__(self, h: Any) -> Any:
        w, b = self.weight.to(h.device, h.dtype), self.bias.to(h.device, h.dtype)
        return h + h @ w.T + b


def target_context(prefix_id: int, tokens: Sequence[int], pos: int, ctx_len: int) -> list[int]:
    """The model input that predicted target `pos` of a document's `tokens` when it was
    scored (the token table's `ctx_len` tokens before it, the document-start token counted):
    the lens's last layer read from its last position is the scored prediction again, to
    float32's last bits (a forward pass of another shape sums in another order)."""
    if not 1 <= ctx_len <= pos + 1:
        raise ValueError(f"target {pos} cannot have seen {ctx_len} tokens")
    seq = [prefix_id, *tokens[:pos]]
    return seq[pos + 1 - ctx_len :]


def _read(logits: torch.Tensor, want: torch.Tensor) -> tuple[np.ndarray, ...]:
    """Rank, nll and top token of the wanted ids in float32 logits (rows, vocab)."""
    import torch

    logprobs = torch.log_softmax(logits.float(), dim=-1)
    true = logprobs.gather(1, want[:, None])
    rank = (logprobs > true).sum(dim=1) + 1
    return (rank.cpu().numpy(), (-true[:, 0]).double().cpu().numpy(),
            logprobs.argmax(dim=1).cpu().numpy())  # fmt: skip
