"""Score every token of every document: loss, probability, rank, entropy and the top-k.

Documents are tokenized once, cut into rolling windows (`windows.py`), sorted longest first
(so running out of memory happens at the start, not the end) and packed into right-padded
batches. The model body runs once per batch; the output head then runs only on the positions
that are targets, a chunk of rows at a time, so full-vocabulary logits never outlive the
chunk that needs them. All post-processing is float32, whatever dtype the model runs in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from inspector.errors import InspectorError, ModelError, message
from inspector.lm.windows import Window, rolling_windows

if TYPE_CHECKING:
    import polars as pl
    import torch

    from corpora import Document
    from inspector.lm.loading import LoadedModel

DEFAULT_WINDOW_CAP = 2048  # the default window is the model's context, capped here
# On a CPU one long row is as fast per token as many (measured: 1x600 tokens 720 tokens/s,
# 4x600 660), and smaller batches stay in cache; accelerators want big batches.
DEFAULT_BATCH_TOKENS = {"cpu": 2048, "cuda": 65536, "mps": 16384}
POST_ROWS = {"cpu": 32}  # rows post-processed at once; elsewhere the whole chunk
MAX_PADDING = 1.25  # a batch's padded size stays within this factor of its real tokens


@dataclass(frozen=True)
class ScoreConfig:
    """How to score; everything here that changes numbers is part of a run's settings."""

    top_k: int = 20  # candidates kept per target, best first
    window: int | None = None  # longest model input; None: the model's context, at most 2048
    stride: int | None = None  # targets added by each later window; None: window // 2
    batch_tokens: int | None = None  # rows x padded length of one forward pass; None: by device
    max_rows: int = 64  # rows of one forward pass
    chunk_rows: int = 512  # target rows whose full-vocabulary logits exist at once

    def resolved(self, context_length: int, device_type: str = "cpu") -> ScoreConfig:
        """This config with `window`, `stride` and `batch_tokens` filled in for a model, and checked."""
        batch_tokens = self.batch_tokens or DEFAULT_BATCH_TOKENS.get(device_type, 16384)
        window = self.window if self.window is not None else min(context_length, DEFAULT_WINDOW_CAP)
        stride = self.stride if self.stride is not None else window // 2
        if not 2 <= window <= context_length:
            raise InspectorError(
                message(
                    "bad_setting",
                    name="--window",
                    value=window,
                    reason=f"use 2 to the model's context, {context_length}",
                )
            )
        if not 1 <= stride <= window // 2:
            raise InspectorError(
                message(
                    "bad_setting",
                    name="--stride",
                    value=stride,
                    reason=f"use 1 to window // 2 = {window // 2}, so every later target sees at least half a window",
                )
            )
        if self.top_k < 1:
            raise InspectorError(
                message("bad_setting", name="--top-k", value=self.top_k, reason="use 1 or more")
            )
        for name, value in (
            ("--batch-tokens", batch_tokens),
            ("max_rows", self.max_rows),
            ("chunk_rows", self.chunk_rows),
        ):
            if value < 1:
                raise InspectorError(
                    message("bad_setting", name=name, value=value, reason="use 1 or more")
                )
        return ScoreConfig(
            self.top_k,
            window,
            stride,
            max(batch_tokens, window),
            self.max_rows,
            self.chunk_rows,
        )


@dataclass
class Tokenized:
    """One document's token ids and character spans."""

    ids: np.ndarray  # (n,) int64
    offsets: np.ndarray  # (n, 2) int64, raw tokenizer offsets into the document text


@dataclass(frozen=True)
class Batch:
    """Windows scored together in one forward pass, longest first."""

    items: list[tuple[int, Window]]  # (document index, window)

    @property
    def length(self) -> int:
        return max(w.end - w.start for _, w in self.items)


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
    return {
        "nll": log_total - target.view(-1),
        "rank": rank,
        "entropy": log_total - expected,  # H = logsumexp - E_p[logit]
        "top_ids": top_ids,
        "top_logprobs": top_shifted - log_total[:, None],
    }


class Scorer:
    """Scores documents with one loaded model and config."""

    def __init__(self, lm: LoadedModel, config: ScoreConfig | None = None) -> None:
        self.lm = lm
        self.config = (config or ScoreConfig()).resolved(lm.context_length, lm.device.type)

    # -- tokenization and batching ------------------------------------------------------
    def tokenize(self, texts: Sequence[str]) -> list[Tokenized]:
        """Token ids and offsets of each text, without special tokens."""
        from transformers.utils import logging as hf_logging

        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # "sequence longer than the model" is what windows are for
        try:
            enc = self.lm.tokenizer(
                list(texts), add_special_tokens=False, return_offsets_mapping=True
            )
        finally:
            hf_logging.set_verbosity(verbosity)
        out = []
        for ids, offsets in zip(enc["input_ids"], enc["offset_mapping"], strict=True):
            out.append(
                Tokenized(
                    np.asarray(ids, dtype=np.int64),
                    np.asarray(offsets, dtype=np.int64).reshape(-1, 2),
                )
            )
        return out

    def batches(self, tokenized: Sequence[Tokenized]) -> list[Batch]:
        """All windows of all documents, longest first, packed under the batch limits."""
        cfg = self.config
        assert cfg.window is not None and cfg.stride is not None and cfg.batch_tokens is not None
        items = [
            (i, w)
            for i, t in enumerate(tokenized)
            for w in rolling_windows(len(t.ids), cfg.window, cfg.stride)
        ]
        items.sort(key=lambda item: item[1].end - item[1].start, reverse=True)
        batches: list[Batch] = []
        current: list[tuple[int, Window]] = []
        real = 0  # tokens in `current` that are not padding
        for item in items:
            n = item[1].end - item[1].start
            if current:
                longest = current[0][1].end - current[0][1].start
                padded = (len(current) + 1) * longest
                if (
                    len(current) + 1 > cfg.max_rows
                    or padded > cfg.batch_tokens
                    or padded > MAX_PADDING * (real + n)
                ):
                    batches.append(Batch(current))
                    current, real = [], 0
            current.append(item)
            real += n
        if current:
            batches.append(Batch(current))
        return batches

    def batch_inputs(
        self, batch: Batch, tokenized: Sequence[Tokenized]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded input ids and attention mask of a batch, on the model's device."""
        import torch

        rows, length = len(batch.items), batch.length
        ids = torch.zeros((rows, length), dtype=torch.long)  # (batch, time)
        mask = torch.zeros((rows, length), dtype=torch.long)  # (batch, time)
        prefix = torch.tensor([self.lm.prefix_id])
        for r, (d, w) in enumerate(batch.items):
            seq = torch.cat([prefix, torch.from_numpy(tokenized[d].ids)])
            ids[r, : w.end - w.start] = seq[w.start : w.end]
            mask[r, : w.end - w.start] = 1
        return ids.to(self.lm.device), mask.to(self.lm.device)

    # -- scoring ----------------------------------------------------------------------
    def score(
        self, docs: Sequence[Document], progress: Callable[[int], None] | None = None
    ) -> pl.DataFrame:
        """The token table of `docs`: one row per (document, target token)."""
        tokenized = self.tokenize([d.text for d in docs])
        raw = self.score_tokenized(tokenized, progress)
        return self.to_table(docs, tokenized, raw)

    def score_tokenized(
        self, tokenized: Sequence[Tokenized], progress: Callable[[int], None] | None = None
    ) -> dict[str, np.ndarray]:
        """Per-target arrays for all documents, concatenated in document order."""
        import torch

        k = self.config.top_k
        starts = np.cumsum([0] + [len(t.ids) for t in tokenized])
        total = int(starts[-1])
        out: dict[str, np.ndarray] = {
            "nll": np.empty(total, np.float32),
            "rank": np.empty(total, np.int64),
            "entropy": np.empty(total, np.float32),
            "top_ids": np.empty((total, k), np.int64),
            "top_logprobs": np.empty((total, k), np.float32),
            "ctx_len": np.empty(total, np.int32),
        }
        with torch.inference_mode():
            for batch in self.batches(tokenized):
                done = self._score_batch(batch, tokenized, starts, out)
                if progress is not None:
                    progress(done)
        return out

    def _score_batch(
        self,
        batch: Batch,
        tokenized: Sequence[Tokenized],
        starts: np.ndarray,
        out: dict[str, np.ndarray],
    ) -> int:
        """Score one batch into `out`; out of memory, score its two halves instead (down to
        a single window, which then fails with a message saying what to change)."""
        import torch

        try:
            return self._run_batch(batch, tokenized, starts, out)
        except torch.OutOfMemoryError as e:
            if self.lm.device.type == "cuda":
                torch.cuda.empty_cache()
            if len(batch.items) == 1:
                raise ModelError(
                    f"out of memory on {self.lm.device.type} for one window of {batch.length} tokens; "
                    "use a smaller --window or --dtype bfloat16"
                ) from e
            half = len(batch.items) // 2
            return sum(
                self._score_batch(Batch(part), tokenized, starts, out)
                for part in (batch.items[:half], batch.items[half:])
            )

    def _run_batch(
        self,
        batch: Batch,
        tokenized: Sequence[Tokenized],
        starts: np.ndarray,
        out: dict[str, np.ndarray],
    ) -> int:
        import torch

        k = self.config.top_k
        model = self.lm.model
        body, head = model.base_model, model.get_output_embeddings()
        softcap = getattr(model.config, "final_logit_softcapping", None)
        scale = getattr(model.config, "logit_scale", None)
        post_rows = POST_ROWS.get(self.lm.device.type, self.config.chunk_rows)
        ids, mask = self.batch_inputs(batch, tokenized)
        hidden = body(
            input_ids=ids, attention_mask=mask, use_cache=False
        ).last_hidden_state  # (batch, time, hidden)
        rows, cols, targets, dest, ctx = self._target_index(batch, tokenized, starts)
        h = hidden[rows.to(hidden.device), cols.to(hidden.device)]  # (targets, hidden)
        targets = targets.to(hidden.device)
        out["ctx_len"][dest] = ctx
        for c in range(0, len(dest), self.config.chunk_rows):
            logits = head(h[c : c + self.config.chunk_rows]).float()  # (chunk, vocab)
            if scale is not None:
                logits = logits * scale
            if softcap is not None:
                logits = torch.tanh(logits / softcap) * softcap
            # post-process a few rows at a time: their logits stay in the CPU's cache
            # across the passes (measured: 4x faster than the whole chunk at once)
            for p in range(0, len(logits), post_rows):
                sl = slice(c + p, c + min(p + post_rows, len(logits)))
                res = postprocess(logits[p : p + post_rows], targets[sl], k)
                for name, value in res.items():
                    out[name][dest[sl]] = value.cpu().numpy()
        return len(dest)

    def _target_index(
        self, batch: Batch, tokenized: Sequence[Tokenized], starts: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray, np.ndarray]:
        """For each scored prediction of a batch: row, column, target id, output row, context length."""
        import torch

        rows, cols, dest, ctx, targets = [], [], [], [], []
        for r, (d, w) in enumerate(batch.items):
            length = w.end - w.start
            col = np.arange(length - w.n_targets, length)
            rows.append(np.full(w.n_targets, r))
            cols.append(col)
            pos = np.arange(w.first_target, w.end)  # document positions of the targets
            dest.append(starts[d] + pos)
            ctx.append(col + 1)
            targets.append(tokenized[d].ids[pos])
        return (
            torch.from_numpy(np.concatenate(rows)),
            torch.from_numpy(np.concatenate(cols)),
            torch.from_numpy(np.concatenate(targets)),
            np.concatenate(dest),
            np.concatenate(ctx).astype(np.int32),
        )

    # -- the token table ----------------------------------------------------------------
    def vocab(self) -> pl.Series:
        """Each token id decoded on its own; ids the tokenizer lacks show as <id N>."""
        import polars as pl

        if self.lm.vocab is None:  # once per loaded model: decoding 50k ids takes a while
            tok = self.lm.tokenizer
            size = max(len(tok), int(self.lm.model.config.vocab_size))
            known = tok.batch_decode([[i] for i in range(len(tok))])
            extra = [f"<id {i}>" for i in range(len(tok), size)]
            self.lm.vocab = pl.Series("vocab", known + extra, dtype=pl.String)
        return self.lm.vocab

    def to_table(
        self, docs: Sequence[Document], tokenized: Sequence[Tokenized], raw: dict[str, np.ndarray]
    ) -> pl.DataFrame:
        """Assemble the token table (DESIGN.md) from per-target arrays."""
        import polars as pl

        from inspector.table import SCORE_SCHEMA

        k = self.config.top_k
        lengths = [len(t.ids) for t in tokenized]
        total = sum(lengths)
        if total == 0:
            return pl.DataFrame(schema=SCORE_SCHEMA)
        token_ids = np.concatenate([t.ids for t in tokenized])
        offsets = np.concatenate([t.offsets for t in tokenized])
        vocab = self.vocab()
        nll = raw["nll"].astype(np.float64)
        top_ids = raw["top_ids"].reshape(-1)
        table = pl.DataFrame(
            {
                "doc_id": pl.Series([d.id for d in docs], dtype=pl.String).gather(
                    np.repeat(np.arange(len(docs)), lengths)
                ),
                "pos": np.concatenate([np.arange(n) for n in lengths]),
                "token_id": token_ids,
                "token": vocab.gather(token_ids),
                "char_start": offsets[:, 0],
                "char_end": offsets[:, 1],
                "nll": nll,
                "prob": np.exp(-nll),
                "rank": raw["rank"],
                "entropy": raw["entropy"].astype(np.float64),
                "top_ids": pl.Series(top_ids).reshape((total, k)),
                "top_tokens": vocab.gather(top_ids).reshape((total, k)),
                "top_probs": pl.Series(np.exp(raw["top_logprobs"].reshape(-1))).reshape((total, k)),
                "ctx_len": raw["ctx_len"],
            }
        )
        return table.cast(SCORE_SCHEMA)  # type: ignore[arg-type]
