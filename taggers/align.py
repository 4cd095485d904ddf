"""Align model tokens (subword pieces) to spaCy tokens (words) by character span. Pure.

A model token's span may start with whitespace (` Hunter`), be only whitespace, carry one
byte of a multibyte character (several tokens then share that character's span), or cover
more than one spaCy token (`don` of `don't`). The rule: trim the span's leading whitespace;
nothing left (or an empty span) means a whitespace target; otherwise the target belongs to the spaCy token that
contains its first non-space character, and it starts that word only if it is the first
target to reach that character and the character is the word's first.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

WHITESPACE = -1  # word index of a target that is only whitespace


@dataclass(frozen=True)
class Alignment:
    """Where one target sits among the words of its document."""

    word: int  # index of the spaCy token, or WHITESPACE
    start: int  # the word's span in the text (for whitespace: the target's own span)
    end: int
    initial: bool  # the target is the first piece of its word


def align(
    text: str, spans: Sequence[tuple[int, int]], words: Sequence[tuple[int, int]]
) -> list[Alignment]:
    """One `Alignment` per target span; `words` are the (start, end) spans of spaCy tokens, in order."""
    starts = [s for s, _ in words]
    out: list[Alignment] = []
    last_char = -1  # the first non-space character reached by the previous word-target
    for s, e in spans:
        s, e = max(0, min(s, len(text))), max(0, min(e, len(text)))
        piece = text[s:e]
        first = s + (len(piece) - len(piece.lstrip()))
        w = bisect_right(starts, first) - 1 if piece.strip() else -1
        if w < 0 or not words[w][0] <= first < words[w][1]:
            # only whitespace, an empty span, or (never seen) a character no word covers
            out.append(Alignment(WHITESPACE, s, e, True))
            continue
        ws, we = words[w]
        out.append(Alignment(w, ws, we, first == ws and first != last_char))
        last_char = first
    return out
