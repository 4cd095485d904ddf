"""Documents as token ids, cut into windows and packed into batches; how many tokens a
batch may hold on a GPU (measured by a probe pass, bounded by free memory)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from inspector.lm.config import MAX_BATCH_TOKENS, MAX_PADDING, MEMORY_SHARE, ScoreConfig
from inspector.lm.windows import Window, rolling_windows

if TYPE_CHECKING:
    from inspector.lm.loading import LoadedModel


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


def windows(config: ScoreConfig, n_tokens: int) -> list[Window]:
    """The windows that score a document of `n_tokens` tokens (`rolling_windows`)."""
    assert config.window is not None and config.stride is not None
    return list(rolling_windows(n_tokens, config.window, config.stride))


def slices(config: ScoreConfig, doc: Tokenized, max_chars: int) -> list[tuple[int, int]]:
    """Target ranges [a, b) that cut one long document into pieces of about `max_chars`
    characters, at window edges: each piece is scored by its own windows alone (`span`),
    so a document is scored and written piece by piece in bounded memory. The same
    document, tokenizer and settings always give the same pieces."""
    out: list[tuple[int, int]] = []
    a = 0
    for w in windows(config, len(doc.ids)):
        end = w.end  # one past the last target of this window
        if doc.offsets[end - 1, 1] - doc.offsets[a, 0] >= max_chars or end == len(doc.ids):
            out.append((a, end))
            a = end
    return out


def pack(
    config: ScoreConfig, tokenized: Sequence[Tokenized], span: tuple[int, int] | None = None
) -> list[Batch]:
    """All windows of all documents, longest first, packed under the batch limits; with
    `span`, only the windows of document 0 whose targets lie in [a, b)."""
    cfg = config
    assert cfg.batch_tokens is not None and cfg.max_rows is not None
    items = [
        (i, w)
        for i, t in enumerate(tokenized)
        for w in windows(config, len(t.ids))
        if span is None or (i == 0 and span[0] <= w.first_target < span[1])
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


def tokens_that_fit(free_bytes: int, per_token: float, reserved: int, window: int) -> int:
    """Padded tokens per forward pass that fit in MEMORY_SHARE of `free_bytes`, after `reserved`.

    Never fewer than one window (a batch of one that does not fit fails with a message
    saying what to change) and never more than MAX_BATCH_TOKENS.
    """
    budget = free_bytes * MEMORY_SHARE - reserved
    fit = int(budget // per_token) if per_token > 0 else MAX_BATCH_TOKENS
    return max(window, min(fit, MAX_BATCH_TOKENS))


def probe_batch_tokens(lm: LoadedModel, window: int, reserved: int) -> int:
    """Batch tokens for a CUDA model: one probe pass of two windows measures the memory a
    token takes, and the free memory says how many fit. Kept on `lm` per window."""
    import torch

    if window in lm.batch_tokens:
        return lm.batch_tokens[window]
    dev = lm.device
    rows = 2
    ids = torch.full((rows, window), lm.prefix_id, dtype=torch.long, device=dev)  # (2, window)
    torch.cuda.synchronize(dev)
    torch.cuda.empty_cache()
    before = torch.cuda.memory_allocated(dev)
    torch.cuda.reset_peak_memory_stats(dev)
    with torch.inference_mode():
        lm.model.base_model(input_ids=ids, use_cache=False)
    torch.cuda.synchronize(dev)
    hidden_size = int(lm.model.get_output_embeddings().weight.shape[1])
    per_token = (torch.cuda.max_memory_allocated(dev) - before) / (rows * window)
    per_token += hidden_size * lm.dtype.itemsize  # the targets' hidden states, gathered
    torch.cuda.empty_cache()
    free, _ = torch.cuda.mem_get_info(dev)
    lm.batch_tokens[window] = tokens_that_fit(free, per_token, reserved, window)
    return lm.batch_tokens[window]
