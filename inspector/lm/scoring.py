"""Score every token of every document: loss, probability, rank, entropy and the top-k.

Documents are tokenized once, cut into rolling windows (`windows.py`), sorted longest first
(so running out of memory happens at the start, not the end) and packed into right-padded
batches. The model body runs once per batch; the output head then runs only on the positions
that are targets, a chunk of rows at a time, so full-vocabulary logits never outlive the
chunk that needs them. All post-processing is float32, whatever dtype the model runs in: a
bfloat16 head writes float32 logits (products of bfloat16 numbers are exact in float32).

On CUDA the batch size comes from the free GPU memory (a probe forward pass measures what a
token costs), the logits chunk from a memory bound, and post-processing is one Triton kernel
that reads each row of logits once (`fused.py`); elsewhere `postprocess` below does it in
plain torch. Inputs and results cross between host and GPU through pinned memory without
waiting, so one batch's results are written out while the next runs. A batch that runs out
of memory is retried as two halves.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from inspector import defaults
from inspector.errors import InspectorError, ModelError, message
from inspector.lm.windows import Window, rolling_windows

if TYPE_CHECKING:
    import polars as pl
    import torch

    from corpora import Document
    from inspector.lm.loading import LoadedModel

DEFAULT_WINDOW_CAP = defaults.WINDOW_CAP
# On a CPU one long row is as fast per token as many (measured: 1x600 tokens 720 tokens/s,
# 4x600 660), and smaller batches stay in cache; accelerators want big batches.
DEFAULT_BATCH_TOKENS = {"cpu": 2048, "cuda": 65536, "mps": 16384}  # CUDA: when not probed
DEFAULT_MAX_ROWS = {"cpu": 64, "mps": 64}  # elsewhere rows are bounded by batch tokens alone
POST_ROWS = {"cpu": 32}  # rows post-processed at once; elsewhere the whole chunk
CPU_CHUNK_ROWS = 512  # target rows whose logits exist at once on a CPU
LOGIT_BYTES = 1 << 30  # elsewhere, the bound on one chunk of float32 logits
MAX_PADDING = 1.25  # a batch's padded size stays within this factor of its real tokens
MEMORY_SHARE = 0.8  # of the free GPU memory, what a batch may take
MAX_BATCH_TOKENS = 1 << 18  # a cap: past a few hundred thousand tokens a batch only delays results
log = logging.getLogger("inspector")  # notices go here; the front ends show them


@dataclass(frozen=True)
class ScoreConfig:
    """How to score; everything here that changes numbers is part of a run's settings."""

    top_k: int = defaults.TOP_K  # candidates kept per target, best first
    window: int | None = None  # longest model input; None: the model's context, at most 2048
    stride: int | None = None  # targets added by each later window; None: window // 2
    batch_tokens: int | None = None  # rows x padded length of one forward pass; None: by device
    max_rows: int | None = None  # rows of one forward pass; None: by device
    chunk_rows: int | None = None  # target rows whose logits exist at once; None: by device

    def resolved(self, context_length: int, device_type: str = "cpu") -> ScoreConfig:
        """This config with `window`, `stride` and `batch_tokens` filled in for a model, and checked."""
        batch_tokens = self.batch_tokens or DEFAULT_BATCH_TOKENS.get(device_type, 16384)
        max_rows = self.max_rows or DEFAULT_MAX_ROWS.get(device_type, MAX_BATCH_TOKENS)
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
            ("max_rows", max_rows),
            ("chunk_rows", self.chunk_rows),
        ):
            if value is not None and value < 1:
                raise InspectorError(
                    message("bad_setting", name=name, value=value, reason="use 1 or more")
                )
        return ScoreConfig(
            self.top_k,
            window,
            stride,
            max(batch_tokens, window),
            max_rows,
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


def float32_logits(h: torch.Tensor, head: Any, keep: dict[str, Any] | None = None) -> torch.Tensor:
    """The output head on hidden states `h` (rows, hidden), as float32 logits (rows, vocab).

    A half-precision head is multiplied with float32 output: products of bfloat16 or float16
    numbers are exact in float32 and the sums stay float32, so nothing is rounded to 8 bits
    of mantissa before the log-softmax, as `head(h).float()` would. Where torch cannot write
    float32 from half-precision operands, a float32 copy of the weight is made once and kept
    in `keep`.
    """
    import torch

    if h.dtype == torch.float32 or not isinstance(head, torch.nn.Linear):
        return head(h).float()
    weight = head.weight  # (vocab, hidden)
    logits = _mm_float32_out(h, weight) if h.device.type == "cuda" else None
    if logits is None:
        keep = {} if keep is None else keep
        if keep.get("weight") is not weight:
            keep["weight"], keep["weight32"] = weight, weight.float()
        with _tf32(h.device.type == "cuda"):
            # bfloat16 and float16 numbers are exact in TF32, so TF32 tensor cores still
            # give exact products with float32 sums, at many times float32's speed
            logits = torch.mm(h.float(), keep["weight32"].t())
        HEAD_PATH[0] = "TF32 mm of float32 copies" if h.is_cuda else "float32 mm of float32 copies"
    if head.bias is not None:
        logits += head.bias.float()
    return logits


def _mm_float32_out(h: torch.Tensor, weight: torch.Tensor) -> torch.Tensor | None:
    """h @ weight.T written as float32 by one half-precision product; None where torch
    has no such product (it is then not tried again)."""
    import torch

    if not _MM_OUT_DTYPE[0]:
        return None
    try:
        logits = torch.mm(h, weight.t(), out_dtype=torch.float32)
    except torch.OutOfMemoryError:
        raise  # the batch is halved by the caller
    except (RuntimeError, TypeError):  # torch without mm(out_dtype=...) for this pair
        _MM_OUT_DTYPE[0] = False
        return None
    HEAD_PATH[0] = "mm with float32 output"
    return logits


@contextlib.contextmanager
def _tf32(on: bool) -> Iterator[None]:
    """CUDA matrix products in TF32 inside the block, when `on`."""
    if not on:
        yield
        return
    import torch

    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


_MM_OUT_DTYPE = [True]  # whether torch.mm(..., out_dtype=float32) works here; False once it fails
HEAD_PATH = [""]  # how float32_logits last multiplied a half-precision head, for benchmarks


@dataclass
class _Results:
    """One batch's results on their way to the host: written out once their copy is done."""

    host: dict[str, torch.Tensor]  # name -> (targets, ...) on the host
    dest: np.ndarray  # (targets,) rows of the output the results go to
    ctx: np.ndarray  # (targets,) context length of each prediction
    done: Any = None  # a CUDA event recorded after the copies; None when already on the host

    @classmethod
    def copy(cls, res: dict[str, torch.Tensor], dest: np.ndarray, ctx: np.ndarray) -> _Results:
        """Start copying `res` to the host: into pinned memory without waiting, from a GPU."""
        import torch

        first = next(iter(res.values()))
        if first.device.type != "cuda":
            return cls({name: value.cpu() for name, value in res.items()}, dest, ctx)
        host = {}
        for name, value in res.items():
            host[name] = torch.empty(value.shape, dtype=value.dtype, pin_memory=True)
            host[name].copy_(value, non_blocking=True)
        done = torch.cuda.Event()
        done.record()
        return cls(host, dest, ctx, done)

    def write(self, out: dict[str, np.ndarray]) -> int:
        """Wait for the copy, write the results into `out`, and say how many targets."""
        if self.done is not None:
            self.done.synchronize()
        n = len(self.dest)
        # a batch of whole documents in order fills one contiguous range: copy, do not scatter
        contiguous = n > 0 and bool(np.all(np.diff(self.dest) == 1))
        at = slice(int(self.dest[0]), int(self.dest[0]) + n) if contiguous else self.dest
        out["ctx_len"][at] = self.ctx
        for name, value in self.host.items():
            out[name][at] = value.numpy()
        return n


class Scorer:
    """Scores documents with one loaded model and config."""

    def __init__(
        self, lm: LoadedModel, config: ScoreConfig | None = None, post: str | None = None
    ) -> None:
        from inspector.lm import fused

        self.lm = lm
        config = config or ScoreConfig()
        device = lm.device.type
        resolved = config.resolved(lm.context_length, device)
        head = lm.model.get_output_embeddings()
        self.vocab_size = int(head.weight.shape[0])
        if resolved.top_k > self.vocab_size:
            raise InspectorError(
                message(
                    "bad_setting",
                    name="--top-k",
                    value=resolved.top_k,
                    reason=f"the model has {self.vocab_size:,} tokens: use at most that",
                )
            )
        self.chunk_rows = resolved.chunk_rows or (
            CPU_CHUNK_ROWS if device == "cpu" else max(1, LOGIT_BYTES // (4 * self.vocab_size))
        )
        if config.batch_tokens is None and device == "cuda":
            assert resolved.window is not None
            reserved = 3 * self.chunk_rows * self.vocab_size * 4  # logits and their temporaries
            resolved = replace(
                resolved, batch_tokens=probe_batch_tokens(lm, resolved.window, reserved)
            )
        self.config = resolved
        self.token_limit = resolved.batch_tokens or 0  # lowered after running out of memory
        self._kept: dict[str, Any] = {}  # a float32 copy of a half-precision head, if needed
        # "fused": one Triton kernel per chunk (CUDA); "eager": `postprocess`, in plain torch
        self.post = post or ("fused" if device == "cuda" and fused.available() else "eager")
        if self.post not in ("fused", "eager"):
            raise ValueError(f"post-processing is 'fused' or 'eager', not {self.post!r}")

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

    def windows(self, n_tokens: int) -> list[Window]:
        """The windows that score a document of `n_tokens` tokens (`rolling_windows`)."""
        assert self.config.window is not None and self.config.stride is not None
        return list(rolling_windows(n_tokens, self.config.window, self.config.stride))

    def slices(self, doc: Tokenized, max_chars: int) -> list[tuple[int, int]]:
        """Target ranges [a, b) that cut one long document into pieces of about `max_chars`
        characters, at window edges: each piece is scored by its own windows alone (`span`),
        so a document is scored and written piece by piece in bounded memory. The same
        document, tokenizer and settings always give the same pieces."""
        out: list[tuple[int, int]] = []
        a = 0
        for w in self.windows(len(doc.ids)):
            end = w.end  # one past the last target of this window
            if doc.offsets[end - 1, 1] - doc.offsets[a, 0] >= max_chars or end == len(doc.ids):
                out.append((a, end))
                a = end
        return out

    def batches(
        self, tokenized: Sequence[Tokenized], span: tuple[int, int] | None = None
    ) -> list[Batch]:
        """All windows of all documents, longest first, packed under the batch limits; with
        `span`, only the windows of document 0 whose targets lie in [a, b)."""
        cfg = self.config
        assert cfg.batch_tokens is not None and cfg.max_rows is not None
        items = [
            (i, w)
            for i, t in enumerate(tokenized)
            for w in self.windows(len(t.ids))
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

    def batch_inputs(
        self, batch: Batch, tokenized: Sequence[Tokenized]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded input ids and attention mask of a batch, on the model's device."""
        import torch

        rows, length = len(batch.items), batch.length
        ids = np.zeros((rows, length), dtype=np.int64)  # (batch, time)
        mask = np.zeros((rows, length), dtype=np.int64)  # (batch, time)
        for r, (d, w) in enumerate(batch.items):
            # the model reads [prefix, token 0, token 1, ...]; window [start, end) of that
            if w.start == 0:
                ids[r, 0] = self.lm.prefix_id
                ids[r, 1 : w.end] = tokenized[d].ids[: w.end - 1]
            else:
                ids[r, : w.end - w.start] = tokenized[d].ids[w.start - 1 : w.end - 1]
            mask[r, : w.end - w.start] = 1
        return self._to_device(torch.from_numpy(ids)), self._to_device(torch.from_numpy(mask))

    def _to_device(self, t: torch.Tensor) -> torch.Tensor:
        """A host tensor on the model's device; to a GPU from pinned memory without waiting,
        so the next batch is queued while the GPU still works on this one."""
        if self.lm.device.type != "cuda":
            return t.to(self.lm.device)
        return t.pin_memory().to(self.lm.device, non_blocking=True)

    # -- scoring ----------------------------------------------------------------------
    def score(
        self, docs: Sequence[Document], progress: Callable[[int], None] | None = None
    ) -> pl.DataFrame:
        """The token table of `docs`: one row per (document, target token)."""
        tokenized = self.tokenize([d.text for d in docs])
        raw = self.score_tokenized(tokenized, progress)
        return self.to_table(docs, tokenized, raw)

    def score_tokenized(
        self,
        tokenized: Sequence[Tokenized],
        progress: Callable[[int], None] | None = None,
        span: tuple[int, int] | None = None,
    ) -> dict[str, np.ndarray]:
        """Per-target arrays for all documents, concatenated in document order; with `span`
        (one document, a range from `slices`), for its targets [a, b) only.

        A batch's results are copied to the host while the next batch runs: each batch is
        queued on the device, then the previous one's results are written out."""
        import torch

        k = self.config.top_k
        if span is not None:
            assert len(tokenized) == 1, "a span is a range of one document's targets"
            starts = np.array([-span[0], span[1] - span[0]])  # output row = position - a
        else:
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
        waiting: list[_Results] = []

        def write_out(results: _Results) -> None:
            done = results.write(out)
            self._check_finite(out, results.dest)
            if progress is not None:
                progress(done)

        with torch.inference_mode():
            for batch in self.batches(tokenized, span):
                queued = self._score_batch(batch, tokenized, starts)
                for results in waiting:
                    write_out(results)
                waiting = queued
            for results in waiting:
                write_out(results)
        return out

    def _check_finite(self, out: dict[str, np.ndarray], rows: np.ndarray) -> None:
        """Refuse NaN or inf scores: damaged weights or an overflowing dtype, never a result.

        A NaN logit makes every comparison false, so the target would come out as rank 1
        with loss NaN; the loss and entropy of a row are finite only if all its logits are.
        """
        bad = ~(np.isfinite(out["nll"][rows]) & np.isfinite(out["entropy"][rows]))
        if not bad.any():
            return
        dtype = str(self.lm.dtype).removeprefix("torch.")
        hint = (
            "its weights are damaged: check or replace the model files"
            if dtype == "float32"
            else f"{dtype} may overflow here: try --dtype float32, else check the model files"
        )
        spec = self.lm.source.spec or self.lm.source.name
        raise ModelError(
            message("nonfinite", spec=spec, count=int(bad.sum()), total=len(rows), hint=hint)
        )

    def _score_batch(
        self, batch: Batch, tokenized: Sequence[Tokenized], starts: np.ndarray
    ) -> list[_Results]:
        """Queue one batch; out of memory, its two halves instead (down to a single window,
        which then fails with a message saying what to change), and cut later batches to
        the size that failed halved, so each does not fail first too."""
        import torch

        rows = max(1, self.token_limit // batch.length)
        if len(batch.items) > rows:
            return [
                results
                for i in range(0, len(batch.items), rows)
                for results in self._score_batch(
                    Batch(batch.items[i : i + rows]), tokenized, starts
                )
            ]
        try:
            return [self._run_batch(batch, tokenized, starts)]
        except torch.OutOfMemoryError as e:
            if self.lm.device.type == "cuda":
                torch.cuda.empty_cache()
            if len(batch.items) == 1:
                raise ModelError(
                    f"out of memory on {self.lm.device.type} for one window of {batch.length} tokens; "
                    "use a smaller --window or --dtype bfloat16"
                ) from e
            half = len(batch.items) // 2
            self.token_limit = min(self.token_limit, (len(batch.items) - half) * batch.length)
            return [
                results
                for part in (batch.items[:half], batch.items[half:])
                for results in self._score_batch(Batch(part), tokenized, starts)
            ]

    def _run_batch(
        self, batch: Batch, tokenized: Sequence[Tokenized], starts: np.ndarray
    ) -> _Results:
        import torch

        from inspector.lm.fused import fused_postprocess

        k = self.config.top_k
        ids, mask = self.batch_inputs(batch, tokenized)
        full = all(w.end - w.start == batch.length for _, w in batch.items)
        hidden = self.lm.model.base_model(
            input_ids=ids, attention_mask=None if full else mask, use_cache=False
        ).last_hidden_state  # (batch, time, hidden); no mask when no row is padded
        rows, cols, targets, dest, ctx = self._target_index(batch, tokenized, starts)
        h = hidden[self._to_device(rows), self._to_device(cols)]  # (targets, hidden)
        del hidden
        targets = self._to_device(targets)
        n = len(dest)
        dev = h.device
        res = {
            "nll": torch.empty(n, dtype=torch.float32, device=dev),
            "rank": torch.empty(n, dtype=torch.int32, device=dev),
            "entropy": torch.empty(n, dtype=torch.float32, device=dev),
            "top_ids": torch.empty((n, k), dtype=torch.int64, device=dev),
            "top_logprobs": torch.empty((n, k), dtype=torch.float32, device=dev),
        }
        # on a CPU, a few rows at a time: their logits stay in cache across the passes
        # (measured: 4x faster than the whole chunk at once)
        step = POST_ROWS.get(dev.type, self.chunk_rows) if self.post == "eager" else n
        for c in range(0, n, self.chunk_rows):
            logits = self.logits(h[c : c + self.chunk_rows])  # (chunk, vocab) float32
            for p in range(0, len(logits), step):
                sl = slice(c + p, c + min(p + step, len(logits)))
                part = None
                if self.post == "fused":
                    try:
                        part = fused_postprocess(logits[p : p + step], targets[sl], k)
                    except torch.OutOfMemoryError:
                        raise  # the batch is halved by the caller
                    except Exception as e:  # e.g. Triton cannot build for this GPU
                        self._fused_failed(e)
                if part is None:
                    part = postprocess(logits[p : p + step], targets[sl], k)  # clobbers logits
                for name, value in part.items():
                    res[name][sl] = value
        return _Results.copy(res, dest, ctx)

    def _fused_failed(self, error: Exception) -> None:
        """Go on with the plain post-processing, saying once why."""
        self.post = "eager"
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        log.warning(
            f"the fused post-processing kernel failed here ({first}); "
            "using plain torch post-processing (same results, slower)"
        )

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """float32 logits (rows, vocab) of hidden states `h`, with the model's scale and softcap."""
        import torch

        model = self.lm.model
        logits = float32_logits(h, model.get_output_embeddings(), self._kept)
        scale = getattr(model.config, "logit_scale", None)
        softcap = getattr(model.config, "final_logit_softcapping", None)
        if scale is not None:
            logits = logits * scale
        if softcap is not None:
            logits = torch.tanh(logits / softcap) * softcap
        return logits

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
        self,
        docs: Sequence[Document],
        tokenized: Sequence[Tokenized],
        raw: dict[str, np.ndarray],
        first: int = 0,
    ) -> pl.DataFrame:
        """Assemble the token table (DESIGN.md) from per-target arrays; `first` is the position
        of the first target when `tokenized` is a range of one document (`slices`)."""
        import polars as pl

        from inspector.tables.schema import SCORE_SCHEMA

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
                "pos": np.concatenate([np.arange(n) for n in lengths]) + first,
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
