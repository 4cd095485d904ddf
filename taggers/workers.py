"""The tagging worker processes, and runs of documents for them.

One pool per worker count, started on first use (with `spawn`: the parent may hold threads,
torch's and the tokenizers', and a CUDA context, which forked children must not inherit) and
kept for the process, so spaCy is loaded once per worker. Both the tagger (`tagger.py`) and
the parse ahead of scoring (`parses.parse_ahead`) send their work here.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

PARALLEL_CHARS = 200_000  # smaller inputs stay in this process: workers would cost more
CHUNKS_PER_WORKER = (
    16  # runs of documents per worker: the last to finish leaves the others idle briefly
)

POOLS: dict[int, ProcessPoolExecutor] = {}


def pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` processes, started on first use and kept for the process."""
    if workers not in POOLS:
        POOLS[workers] = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn")
        )
    return POOLS[workers]


def runs(sizes: list[int], n: int) -> list[tuple[int, int]]:
    """Cut documents of `sizes` characters into at most `n` runs [a, b) of similar size."""
    target = max(1, sum(sizes) // max(1, n))
    out, start, acc = [], 0, 0
    for i, size in enumerate(sizes):
        acc += size
        if acc >= target and i + 1 < len(sizes):
            out.append((start, i + 1))
            start, acc = i + 1, 0
    out.append((start, len(sizes)))
    return out
