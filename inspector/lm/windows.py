"""Rolling windows over a document longer than the model's context. Pure, no torch.

The model reads the sequence `s = [prefix] + tokens` (length n + 1) and the targets are
`s[1:]`, i.e. every token of the document, the first one predicted from the prefix
(document-start) token alone. The first window feeds `s[0:W]` and scores all W of its
predictions; each later window scores the next `stride` targets, fed the W tokens that end
just before the last of them, so each of its targets sees at least W - stride + 1 tokens.
Every target is predicted exactly once, in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """One model input `s[start:end]`; its last `n_targets` predictions are scored."""

    start: int  # first input position in s (0 is the prefix token)
    end: int  # one past the last input position in s
    n_targets: int  # the predictions at inputs end-n_targets .. end-1, i.e. targets s[end-n_targets+1 .. end]

    @property
    def first_target(self) -> int:
        """Document position (0-based index into `tokens`) of the first target scored here."""
        return self.end - self.n_targets


def rolling_windows(n_tokens: int, window: int, stride: int) -> Iterator[Window]:
    """The windows that score each of `n_tokens` targets once, with inputs of at most `window`."""
    if window < 2:
        raise ValueError(f"window must be at least 2, got {window}")
    if not 1 <= stride <= window:
        raise ValueError(f"stride must be between 1 and the window, {window}, got {stride}")
    if n_tokens <= 0:
        return
    end = min(window, n_tokens)
    yield Window(start=0, end=end, n_targets=end)
    done = end
    while done < n_tokens:
        new = min(stride, n_tokens - done)
        end = done + new
        yield Window(start=max(0, end - window), end=end, n_targets=new)
        done = end


def window_token_lists(
    tokens: list[int], prefix: int, window: int, stride: int
) -> Iterator[tuple[list[int], list[int]]]:
    """(input ids, target ids) per window: the targets are what the last predictions must be."""
    seq = [prefix, *tokens]
    for w in rolling_windows(len(tokens), window, stride):
        yield seq[w.start : w.end], seq[w.end - w.n_targets + 1 : w.end + 1]
