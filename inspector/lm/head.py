"""The output head as float32 logits, whatever dtype the model runs in: a bfloat16 head
writes float32 logits (products of bfloat16 numbers are exact in float32)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


@dataclass
class HeadState:
    """What the head learned on this machine: whether torch writes float32 from a
    half-precision product, a float32 copy of the weight where it does not, and which way
    the last product went (for benchmarks)."""

    mm_out_dtype: bool = True  # torch.mm(..., out_dtype=float32) works here; False once it fails
    kept: dict[str, Any] = field(default_factory=dict)  # the weight and its float32 copy
    path: str = ""  # how the last half-precision product was made


class Head:
    """A model's output head as float32 logits, with every transform transformers applies
    after it: Cohere's `logit_scale`, Granite's `logits_scaling`, Gemma's softcap."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.state = HeadState()

    def __call__(self, h: torch.Tensor) -> torch.Tensor:
        """float32 logits (rows, vocab) of hidden states `h` (rows, hidden)."""
        import torch

        model = self.model
        logits = float32_logits(h, model.get_output_embeddings(), self.state)
        scale = getattr(model.config, "logit_scale", None)  # Cohere: a product
        divisor = getattr(model.config, "logits_scaling", None)  # Granite: a quotient
        softcap = getattr(model.config, "final_logit_softcapping", None)  # Gemma 2, 3
        if scale is not None:
            logits = logits * scale
        if divisor is not None and divisor != 1:
            logits = logits / divisor
        if softcap is not None:
            logits = torch.tanh(logits / softcap) * softcap
        return logits


def float32_logits(h: torch.Tensor, head: Any, state: HeadState | None = None) -> torch.Tensor:
    """The output head on hidden states `h` (rows, hidden), as float32 logits (rows, vocab).

    A half-precision head is multiplied with float32 output: products of bfloat16 or float16
    numbers are exact in float32 and the sums stay float32, so nothing is rounded to 8 bits
    of mantissa before the log-softmax, as `head(h).float()` would. Where torch cannot write
    float32 from half-precision operands, a float32 copy of the weight is made once and kept
    in `state` (with what worked here, so it is not tried again).
    """
    import torch

    if h.dtype == torch.float32 or not isinstance(head, torch.nn.Linear):
        return head(h).float()
    weight = head.weight  # (vocab, hidden)
    state = state or HeadState()
    logits = _mm_float32_out(h, weight, state) if h.device.type == "cuda" else None
    if logits is None:
        keep = state.kept
        if keep.get("weight") is not weight:
            keep["weight"], keep["weight32"] = weight, weight.float()
        with _tf32(h.device.type == "cuda"):
            # bfloat16 and float16 numbers are exact in TF32, so TF32 tensor cores still
            # give exact products with float32 sums, at many times float32's speed
            logits = torch.mm(h.float(), keep["weight32"].t())
        state.path = "TF32 mm of float32 copies" if h.is_cuda else "float32 mm of float32 copies"
    if head.bias is not None:
        logits += head.bias.float()
    return logits


def _mm_float32_out(h: torch.Tensor, weight: torch.Tensor, state: HeadState) -> torch.Tensor | None:
    """h @ weight.T written as float32 by one half-precision product; None where torch
    has no such product (it is then not tried again)."""
    import torch

    if not state.mm_out_dtype:
        return None
    try:
        logits = torch.mm(h, weight.t(), out_dtype=torch.float32)
    except torch.OutOfMemoryError:
        raise  # the batch is halved by the caller
    except (RuntimeError, TypeError):  # torch without mm(out_dtype=...) for this pair
        state.mm_out_dtype = False
        return None
    state.path = "mm with float32 output"
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
