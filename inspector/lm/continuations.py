"""How likely each of several continuations is after a prefix: what `inspector probe`, the
probe suites and the app's contrast prompt ask the model.

A candidate is scored as the continuation of the prefix, piece by piece. The prefix and the
candidate are tokenized separately, so a candidate has the same pieces after any prefix (as
evaluation harnesses score a continuation), with the whitespace that ends the prefix moved to
the front of the candidate: `The capital of Azerbaijan is ` + `Baku` is read as `...is` +
` Baku`, the way the model met such text. The model reads [document-start token, prefix,
candidate]: one forward pass of the prefix, whose key-value cache every candidate (and every
later question at the same prefix) reuses. Per candidate: each piece's log-probability and
rank given everything before it (rank as in the token table: 1 + the vocabulary entries
scored strictly higher), and the chained log-probability of the whole.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inspector.errors import ModelError, message
from inspector.lm.head import Head
from inspector.lm.pieces import piece_texts

if TYPE_CHECKING:
    from collections.abc import Sequence

    import torch

    from inspector.lm.loading import LoadedModel

KEEP_PREFIXES = 4  # prefixes whose forward pass is kept for the next question
BATCH = 64  # candidates read together after a prefix (each holds its pieces' distributions)
ROOM = 64  # tokens kept free for the candidates when a prefix must be cut to the window
SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Continuation:
    """One candidate after one prefix."""

    text: str  # as scored: with the whitespace moved from the end of the prefix
    pieces: tuple[str, ...]  # its tokens, each decoded on its own (byte pieces as <0xE6>)
    piece_ids: tuple[int, ...]
    piece_logprobs: tuple[float, ...]  # natural log, each given the prefix and the pieces before
    piece_ranks: tuple[int, ...]
    context_tokens: int = 0  # tokens the first piece was predicted from (document start included)
    cut: bool = False  # whether the prefix was longer than the window leaves, and cut at its start

    @property
    def logprob(self) -> float:
        return float(sum(self.piece_logprobs))

    @property
    def nll(self) -> float:
        """Its surprisal, in nats: -ln p(candidate | prefix), chained over the pieces."""
        return -self.logprob

    @property
    def prob(self) -> float:
        return math.exp(self.logprob)

    @property
    def rank(self) -> int:
        """The rank of its first piece: where the model put it among all next tokens."""
        return self.piece_ranks[0]


@dataclass
class _Prefix:
    ids: list[int]
    logprobs: torch.Tensor  # (vocab,) float32: the next-token distribution after the prefix
    cache: Any  # the prefix's key-value cache, copied before each use
    cut: bool = False  # its start was cut to fit the window


class Asker:
    """Questions to one loaded model about continuations of prefixes."""

    def __init__(self, lm: LoadedModel) -> None:
        import threading

        self.lm = lm
        self.head = Head(lm.model)
        self._prefixes: dict[str, _Prefix] = {}
        self._reading = threading.Lock()  # one prefix read at a time: a second asker waits for it

    def read(self, prefix: str, room: int = 16) -> None:
        """Read `prefix` now, so that a question about it later (leaving `room` tokens for
        the candidates) starts from its cache: the app does this while a question is typed."""
        self._prefix(self.split(prefix, "")[0], room)

    def split(self, prefix: str, candidate: str) -> tuple[str, str]:
        """The prefix as read, and the candidate with the prefix's trailing whitespace."""
        context = prefix.rstrip()
        return context, prefix[len(context) :] + candidate

    def ask(self, prefix: str, candidates: Sequence[str]) -> list[Continuation]:
        """Each candidate's pieces, their log-probabilities and ranks, after `prefix`."""
        import torch

        if not candidates or any(not c for c in candidates):
            raise ModelError(message("probe_empty_candidate"))
        if any(SURROGATE.search(t) for t in (prefix, *candidates)):  # bytes not UTF-8, say
            raise ModelError(message("probe_not_text"))
        context = self.split(prefix, "")[0]
        texts = [self.split(prefix, c)[1] for c in candidates]
        tok = self.lm.tokenizer
        pieces = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
        longest = max(len(p) for p in pieces)
        if longest >= self.lm.context_length:
            raise ModelError(message("probe_long_candidate", tokens=longest,
                                     window=self.lm.context_length))  # fmt: skip
        state = self._prefix(context, longest)
        out = []
        for start in range(0, len(texts), BATCH):  # memory bounded however many candidates
            batch = pieces[start : start + BATCH]
            with torch.inference_mode():
                later = self._later_pieces(state, batch) if max(map(len, batch)) > 1 else None
            for i, ids in enumerate(batch):
                dists = [state.logprobs, *([] if later is None else later[i, : len(ids) - 1])]
                lps, ranks = [], []
                for dist, tid in zip(dists, ids, strict=True):
                    lp = dist[tid]
                    lps.append(float(lp))
                    ranks.append(int((dist > lp).sum()) + 1)
                out.append(Continuation(
                    texts[start + i], tuple(piece_texts(tok, ids)), tuple(ids), tuple(lps),
                    tuple(ranks), len(state.ids), state.cut,
                ))  # fmt: skip
        return out

    def _prefix(self, context: str, longest: int) -> _Prefix:
        """The prefix read once: its next-token distribution and its key-value cache."""

        with self._reading:
            return self._read(context, longest)

    def _read(self, context: str, longest: int) -> _Prefix:
        import torch

        kept = self._prefixes.get(context)
        window = self.lm.context_length
        if kept is not None and len(kept.ids) + longest <= window:
            return kept
        ids = [
            self.lm.prefix_id,
            *self.lm.tokenizer(context, add_special_tokens=False)["input_ids"],
        ]
        cut = len(ids) + longest > window
        if cut:  # the same cut for every candidate up to ROOM tokens: none moves another's score
            ids = ids[-max(1, window - max(longest, min(ROOM, window // 4))) :]
        with torch.inference_mode():
            run = self.lm.model.base_model(
                input_ids=torch.tensor([ids], device=self.lm.device), use_cache=True
            )
            logits = self.head(run.last_hidden_state[0, -1:])  # (1, vocab) float32
            logprobs = torch.log_softmax(logits, dim=-1)[0].cpu()
        state = _Prefix(ids, logprobs, cache_of(run), cut)
        if len(self._prefixes) >= KEEP_PREFIXES:
            self._prefixes.pop(next(iter(self._prefixes)))
        self._prefixes[context] = state
        return state

    def _later_pieces(self, state: _Prefix, pieces: list[list[int]]) -> torch.Tensor:
        """The distributions after each candidate's first, second, ... piece: the candidates
        read as one batch after the prefix's cache (right-padded: a padded position comes
        after every real one, so no real position sees it). (candidates, longest - 1, vocab)."""
        import torch

        n, longest = len(pieces), max(len(p) for p in pieces)
        ids = torch.full((n, longest - 1), self.lm.prefix_id, dtype=torch.long)
        for i, p in enumerate(pieces):
            ids[i, : len(p) - 1] = torch.tensor(p[:-1])
        cache = copy.deepcopy(state.cache)
        cache.batch_repeat_interleave(n)
        start = len(state.ids)
        positions = torch.arange(start, start + longest - 1).expand(n, -1)
        run = self.lm.model.base_model(
            input_ids=ids.to(self.lm.device), position_ids=positions.to(self.lm.device),
            use_cache=True, **{cache_argument(self.lm.model.base_model): cache},
        )  # fmt: skip
        hidden = run.last_hidden_state  # (n, longest - 1, hidden)
        logits = self.head(hidden.reshape(-1, hidden.shape[-1]))
        return torch.log_softmax(logits, dim=-1).reshape(n, longest - 1, -1).cpu()


def cache_argument(model: Any) -> str:
    """The name a model's forward takes a key-value cache by (`cache` since transformers
    5.2x, `past_key_values` before)."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def cache_of(output: Any) -> Any:
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values
