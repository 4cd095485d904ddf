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

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from inspector.errors import InspectorError, ModelError, message
from inspector.lm.batching import Batch, Tokenized, pack, probe_batch_tokens, slices, windows
from inspector.lm.config import CPU_CHUNK_ROWS, LOGIT_BYTES, POST_ROWS, ScoreConfig
from inspector.lm.head import Head
from inspector.lm.postprocess import postprocess
from inspector.lm.stages import stage
from inspector.lm.windows import Window

if TYPE_CHECKING:
    import torch

    from inspector.lm.loading import LoadedModel

log = logging.getLogger("inspector")  # notices go here; the front ends show them


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
    """Scores token ids with one loaded model and config: per-target arrays (loss, rank,
    entropy, top-k, context length), nothing about tables (`run/tokens.py` makes those)."""

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
        self.head = Head(lm.model)  # float32 logits, with what it learned about this machine
        # "fused": one Triton kernel per chunk (CUDA); "eager": `postprocess`, in plain torch
        self.post = post or ("fused" if device == "cuda" and fused.available() else "eager")
        if self.post not in ("fused", "eager"):
            raise ValueError(f"post-processing is 'fused' or 'eager', not {self.post!r}")

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
        """The windows that score a document of `n_tokens` tokens."""
        return windows(self.config, n_tokens)

    def slices(self, doc: Tokenized, max_chars: int) -> list[tuple[int, int]]:
        """Target ranges of about `max_chars` characters of one long document (`batching.slices`)."""
        return slices(self.config, doc, max_chars)

    def batches(
        self, tokenized: Sequence[Tokenized], span: tuple[int, int] | None = None
    ) -> list[Batch]:
        """All windows of all documents packed into batches (`batching.pack`)."""
        return pack(self.config, tokenized, span)

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
            with stage("score.write"):  # waits for the copy, then writes on the host
                done = results.write(out)
                self._check_finite(out, results.dest)
            if progress is not None:
                progress(done)

        with torch.inference_mode():
            for batch in pack(self.config, tokenized, span):
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
                    message("out_of_memory", device=self.lm.device.type, length=batch.length)
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

        k = self.config.top_k
        ids, mask = self.batch_inputs(batch, tokenized)
        # No attention mask, even with padded rows: rows are padded on the right and attention
        # is causal, so no real position ever sees padding, and the maskless path is faster
        # (on a CPU 10% on licence text, results identical: tests/test_scoring.py).
        del mask
        with stage("score.body"):  # the ranges `inspector bench --shape --profile` reads
            hidden = self.lm.model.base_model(
                input_ids=ids, use_cache=False
            ).last_hidden_state  # (batch, time, hidden); what padding positions get is never read
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
            with stage("score.head"):
                logits = self.head(h[c : c + self.chunk_rows])  # (chunk, vocab) float32
            for p in range(0, len(logits), step):
                sl = slice(c + p, c + min(p + step, len(logits)))
                with stage("score.post"):
                    for name, value in self._post(logits[p : p + step], targets[sl]).items():
                        res[name][sl] = value
        with stage("score.copy"):
            return _Results.copy(res, dest, ctx)

    def _post(self, logits: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        """Loss, rank, entropy and top-k of rows of float32 logits: fused, or in plain torch."""
        import torch

        from inspector.lm.fused import fused_postprocess

        k = self.config.top_k
        if self.post == "fused":
            try:
                return fused_postprocess(logits, targets, k)
            except torch.OutOfMemoryError:
                raise  # the batch is halved by the caller
            except Exception as e:  # e.g. Triton cannot build for this GPU
                self._fused_failed(e)
        return postprocess(logits, targets, k)  # clobbers logits

    def _fused_failed(self, error: Exception) -> None:
        """Go on with the plain post-processing, saying once why."""
        self.post = "eager"
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        log.warning(
            f"the fused post-processing kernel failed here ({first}); "
            "using plain torch post-processing (same results, slower)"
        )

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
