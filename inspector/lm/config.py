"""How to score (`ScoreConfig`) and the defaults that fill it in per device."""

from __future__ import annotations

from dataclasses import dataclass

from inspector import defaults
from inspector.errors import InspectorError, message

DEFAULT_WINDOW_CAP = defaults.WINDOW_CAP
# On a CPU a long row is faster alone than beside others (measured: 1x600 tokens 720 tokens/s,
# 4x600 660; licence text in 1,000-token documents 730 alone, 670 two to a batch), so rows
# over 256 tokens go one to a batch and only short ones are grouped; accelerators want big
# batches.
DEFAULT_BATCH_TOKENS = {"cpu": 512, "cuda": 65536, "mps": 16384}  # CUDA: when not probed
DEFAULT_MAX_ROWS = {"cpu": 64, "mps": 64}  # elsewhere rows are bounded by batch tokens alone
POST_ROWS = {"cpu": 32}  # rows post-processed at once; elsewhere the whole chunk
CPU_CHUNK_ROWS = 512  # target rows whose logits exist at once on a CPU
LOGIT_BYTES = 1 << 30  # elsewhere, the bound on one chunk of float32 logits
MAX_PADDING = 1.25  # a batch's padded size stays within this factor of its real tokens
MEMORY_SHARE = 0.8  # of the free GPU memory, what a batch may take
MAX_BATCH_TOKENS = 1 << 18  # a cap: past a few hundred thousand tokens a batch only delays results


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
        if not 1 <= stride <= window:
            raise InspectorError(
                message(
                    "bad_setting",
                    name="--stride",
                    value=stride,
                    reason=f"use 1 to the window, {window} (a later window's first target sees window - stride + 1 tokens)",
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
            batch_tokens,  # a batch holds at least one window, whatever this says
            max_rows,
            self.chunk_rows,
        )
