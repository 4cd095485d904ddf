"""Word units: a token table's targets summed per word, as psycholinguists ask for surprisal
(by word, not by subword piece), and the unit runs of different tokenizers are compared by.

A target belongs to the spaCy word that holds its first non-space character (the tagger's
alignment, `taggers/align.py`), so every target is in exactly one unit and the words' losses
add up to the run's total. A whitespace-only target is a unit of its own. A target that
reaches past the end of its word (`don` of `don't` in some tokenizers, a piece that spans two
words) counts toward the word it starts in; `straddles` marks such units.

Per word: `nll` the sum of its pieces' nll (the surprisal of the word given its left context,
exact where token and word boundaries agree), `pieces`, `rank` the worst of its pieces' ranks
(a word is a top-1 prediction only if every piece was), `entropy` at its first piece (the
uncertainty before the word), `task` and `task_reason` of its first piece (the rule that
decided the word; a split-off ending may have its own in the token table).
"""

from __future__ import annotations

import polars as pl

WORD_KEY = ["doc_id", "word_start", "word_end"]


def word_units(frame: pl.LazyFrame) -> pl.LazyFrame:
    """One row per word (and per whitespace target) of a tagged token table, in text order."""
    words = frame.group_by(WORD_KEY, maintain_order=True).agg(  # targets are in text order already
        pl.col("word").first(),
        pl.col("nll").sum(),
        pl.len().cast(pl.Int64).alias("pieces"),
        pl.col("rank").max(),
        pl.col("entropy").first(),
        pl.col("task").first(),
        pl.col("task_reason").first(),
        (pl.col("char_end") > pl.col("word_end")).any().alias("straddles"),
    )
    return words.with_columns(
        pl.int_range(pl.len()).over("doc_id").cast(pl.Int64).alias("pos")
    ).select(
        "doc_id", "pos", "word", pl.col("word_start").alias("char_start"),
        pl.col("word_end").alias("char_end"), "nll", "pieces", "rank", "entropy", "task",
        "task_reason", "straddles",
    )  # fmt: skip
