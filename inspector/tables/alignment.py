"""Runs of one corpus side by side, unit by unit: what `inspector compare` and the app's
compare mode read.

Two kinds of unit:

- **token**: runs of one tokenizer (the same token ids at the same positions of every
  document) are aligned by position; a unit is one target.
- **word**: runs of different tokenizers are aligned by word. Each run's targets are summed
  into words first (`tables/words.py`: a target belongs to the word that holds its first
  non-space character). A word's *reach* in a run is the text its targets cover, from the
  first one's start to the last one's end, so it includes the space a ` word` token carries.
  A unit is a connected group of overlapping reaches of all runs: mostly one word; a space
  token of one tokenizer joins the word another tokenizer's ` word` token covers; and a
  token that straddles a word boundary (`don` of `don't`) joins the words it touches into
  one unit, in every run. So a run's loss of a unit is the exact sum of its targets' nll over
  the same characters as every other run's: no loss is split between words or guessed.
  `joined` counts the units of more than one word.

A run that is browsed but not compared (the app's, when its tokenizer is not the compared
runs') may *shape* the units: its words' reaches join the groups as well, so each of its
targets lies inside one unit, and the text under its cursor always finds the unit that holds
it. Its numbers are in no figure.

A unit is compared only where every run's targets cover exactly its characters. The others
(the first word of a document when a model has no start-of-text token to predict it from)
are counted in `uncovered`, with each run's loss in them, and left out of every figure: a
run's loss over the compared units plus its uncovered loss is its total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from inspector.errors import message
from inspector.tables.run import Run
from inspector.tables.tasks import TasksError, piece_bytes

KEY = ["doc_id", "pos"]


@dataclass(frozen=True)
class Aligned:
    """Units compared: `doc_id`, `pos` (the unit's number in its document, from 0),
    `char_start`, `char_end`, `task`, `task_reason` (the first run's, at the unit's first
    word), `words`, `bytes` (of the text its pieces cover), and per run i (in the order
    given): `nll_i`, `pieces_i`, `rank_i` (the worst piece's) and `first_i` (the token
    position of its first piece in run i). For nats per word, `_words` (the words a unit
    begins: a word unit's words, a token's 1 where it is its word's first piece) and per run
    `_word_nll_i` (their loss: a word unit's, a first piece's whole word's, else 0)."""

    units: pl.DataFrame
    unit: str  # "token" or "word"
    runs: tuple[Run, ...]
    uncovered: int  # units some run does not cover exactly, left out
    uncovered_nll: tuple[float, ...]  # each run's loss in them
    joined: int  # units of more than one word (a token straddled a word boundary)
    shaped: bool = False  # a browsed run's words shaped the units too (`align`'s `shape`)


def align(runs: Sequence[Run], unit: str = "auto", shape: pl.LazyFrame | None = None) -> Aligned:
    """The runs' units side by side: by position when the runs share their tokens (`token`,
    or `auto`), else by word (`word`, or `auto` when the tokens differ). `shape`: the token
    table of a browsed run (module docstring); units are by position only where it has the
    compared runs' tokens too."""
    if unit == "word":
        return _by_word(runs, shape)
    same = same_tokens(runs) and (shape is None or same_ids(runs[0].frame, shape, within=True))
    if unit == "token" and not same:
        raise TasksError(message("compare_tokens_differ"))
    return _by_position(runs) if same else _by_word(runs, shape)


def same_tokens(runs: Sequence[Run]) -> bool:
    """Whether every run has the same token id at every (document, position)."""
    return all(same_ids(runs[0].frame, run.frame) for run in runs[1:])


def same_ids(a: pl.LazyFrame, b: pl.LazyFrame, within: bool = False, shared: bool = False) -> bool:
    """Whether two token tables have the same token id at every (document, position); with
    `within`, over the documents `b` holds (a browsed run scored so far); with `shared`, at
    the positions both hold (a run of people's labels holds some)."""
    if within:
        a = a.join(b.select("doc_id").unique(), on="doc_id", how="semi")
    base = a.select(*KEY, "token_id")
    other = b.select(*KEY, pl.col("token_id").alias("_other"))
    both = base.join(other, on=KEY, how="inner" if shared else "full", coalesce=True)
    differ = both.filter(
        pl.col("token_id").is_null()
        | pl.col("_other").is_null()
        | (pl.col("token_id") != pl.col("_other"))
    )
    return not differ.select(pl.len()).collect().item()


def _by_position(runs: Sequence[Run]) -> Aligned:
    have = runs[0].frame.collect_schema().names()
    begins = pl.lit(None, dtype=pl.Boolean)  # where a word begins (null: the table has no words)
    if "word_start" in have and "word_end" in have:  # the first run's words, as _words makes them
        begins = pl.lit(False)
        for c in ("doc_id", "word_start", "word_end"):
            begins = begins | (pl.col(c) != pl.col(c).shift()).fill_null(True)
    nbytes = piece_bytes() if "token" in have else pl.lit(None, dtype=pl.Int64)
    units = runs[0].frame.select(
        *KEY, "char_start", "char_end", "task", "task_reason",
        pl.lit(1, dtype=pl.Int64).alias("words"), nbytes.alias("bytes"), begins.alias("_begins"),
        *([pl.col("word").alias("_word")] if "word" in have else []),
    )  # fmt: skip
    for i, run in enumerate(runs):
        units = units.join(
            run.frame.select(
                *KEY,
                pl.col("nll").alias(f"nll_{i}"),
                pl.lit(1, dtype=pl.Int64).alias(f"pieces_{i}"),
                pl.col("rank").alias(f"rank_{i}"),
                pl.col("pos").alias(f"first_{i}"),
            ),
            on=KEY,
            how="left",
            maintain_order="left",
        )
    word = pl.col("_begins").cum_sum()  # each word's pieces: its loss on its first piece
    real = (pl.col("_word").str.strip_chars() != "") if "word" in have else pl.lit(True)
    units = units.with_columns(  # a word begins: whitespace is no word (tables/tasks.py)
        (pl.col("_begins") & real).cast(pl.Int64).alias("_words"),
        *(
            pl.when("_begins").then(pl.col(f"nll_{i}").sum().over(word)).otherwise(0.0)
            .alias(f"_word_nll_{i}")
            for i in range(len(runs))
        ),
    ).drop("_begins", "_word", strict=False)  # fmt: skip
    return Aligned(units.collect(), "token", tuple(runs), 0, (0.0,) * len(runs), 0)


def _words(run: Run, first: bool) -> pl.DataFrame:
    """One run's words, in text order: each word's targets summed, with the text they reach
    (`start`, `end`); for the first run also its task, rule and whether it is space. A
    word's targets are consecutive rows (the table is in text order)."""
    about = ["word", "task", "task_reason"] if first else []
    targets = run.frame.select(
        "doc_id", "pos", "char_start", "char_end", "nll", "rank", "word_start", "word_end",
        piece_bytes().alias("bytes"), *about,
    ).collect()  # fmt: skip
    changed = pl.lit(False)
    for c in ("doc_id", "word_start", "word_end"):
        changed = changed | (pl.col(c) != pl.col(c).shift()).fill_null(True)
    words = targets.with_columns(changed.cum_sum().alias("_w")).group_by("_w").agg(
        pl.col("doc_id").first(), pl.col("nll").sum(), pl.len().cast(pl.Int64).alias("pieces"),
        pl.col("rank").max(), pl.col("char_start").min().alias("start"),
        pl.col("char_end").max().alias("end"), pl.col("pos").first().alias("first"),
        pl.col("bytes").sum(), *(pl.col(c).first() for c in about),
    )  # fmt: skip
    del targets
    if first:
        words = words.with_columns((pl.col("word").str.strip_chars() != "").alias("_word")).drop(
            "word"
        )
    return words.sort("_w")


def _shape_reaches(shape: pl.LazyFrame) -> pl.DataFrame:
    """A browsed run's words as reaches (run -1): the text each word's targets cover."""
    return (
        shape.group_by("doc_id", "word_start", "word_end")
        .agg(pl.col("char_start").min().alias("start"), pl.col("char_end").max().alias("end"))
        .select("doc_id", "start", "end", pl.lit(-1, dtype=pl.Int32).alias("run"))
        .collect()
    )


def _all_reaches(
    reaches: list[pl.DataFrame], order: pl.DataFrame, shape: pl.LazyFrame | None
) -> pl.DataFrame:
    """Every run's word reaches in one frame (`run` their run's number, `_doc` their
    document's), with a shaping run's as run -1."""
    everything = pl.concat(
        [
            r.select("_w", "doc_id", "nll", "pieces", "rank", "start", "end", "first", "bytes")
            .with_columns(pl.lit(i, dtype=pl.Int32).alias("run"))
            .join(order, on="doc_id", how="left")
            .drop("doc_id")
            for i, r in enumerate(reaches)
        ]
    )
    if shape is None:
        return everything
    # the browsed run's words in the compared runs' documents
    shaped = _shape_reaches(shape).join(order, on="doc_id", how="inner").drop("doc_id")
    return pl.concat([everything, shaped], how="diagonal_relaxed")


def _by_word(runs: Sequence[Run], shape: pl.LazyFrame | None = None) -> Aligned:
    reaches = [_words(run, i == 0) for i, run in enumerate(runs)]
    order = reaches[0].select(pl.col("doc_id").unique(maintain_order=True)).with_row_index("_doc")
    about = reaches[0].select("_w", "task", "task_reason", "_word")
    everything = _all_reaches(reaches, order, shape)
    del reaches
    width = int(everything.select(pl.col("end").max()).item() or 0) + 1
    everything = everything.with_columns(  # documents laid end to end: one number line
        (pl.col("_doc").cast(pl.Int64) * width + pl.col("start")).alias("_from"),
        (pl.col("_doc").cast(pl.Int64) * width + pl.col("end")).alias("_to"),
    ).sort("_from", "_to", "run")
    # a new unit wherever a reach starts at or after the end of every reach before it
    everything = everything.with_columns(
        (pl.col("_from") >= pl.col("_to").cum_max().shift(1))
        .fill_null(True)
        .cum_sum()
        .alias("_unit")
    )
    units = everything.group_by("_unit").agg(
        pl.col("_doc").first(),
        pl.col("start").min().alias("char_start"),
        pl.col("end").max().alias("char_end"),
    )
    everything = everything.filter(pl.col("run") >= 0)  # a shaping run: bounds only
    per_run = everything.group_by("_unit", "run").agg(
        pl.col("nll").sum(), pl.col("pieces").sum(), pl.col("rank").max(),
        pl.col("start").min(), pl.col("end").max(), pl.col("first").min(), pl.col("bytes").sum(),
    )  # fmt: skip
    units = units.join(_first_run_words(about, everything), on="_unit", how="left")
    covered = pl.lit(True)
    for i in range(len(runs)):
        mine = per_run.filter(pl.col("run") == i).drop("run")
        units = units.join(
            mine.rename({c: f"{c}_{i}" for c in mine.columns if c != "_unit"}),
            on="_unit",
            how="left",
        )
        covered = covered & (pl.col(f"start_{i}") == pl.col("char_start")).fill_null(False)
        covered = covered & (pl.col(f"end_{i}") == pl.col("char_end")).fill_null(False)
    done = units.with_columns(covered.alias("_covered")).sort("_unit")
    done = done.join(order, on="_doc", how="left")
    left_out = done.filter(~pl.col("_covered"))
    kept = done.filter(pl.col("_covered")).with_columns(
        pl.int_range(pl.len()).over("_doc").cast(pl.Int64).alias("pos")
    )
    columns: list[str | pl.Expr] = ["doc_id", "pos", "char_start", "char_end", "task"]
    columns += [
        "task_reason",
        "words",
        pl.col("bytes_0").alias("bytes"),
        pl.col("words").alias("_words"),
    ]
    for i in range(len(runs)):
        columns += [f"nll_{i}", f"pieces_{i}", f"rank_{i}", f"first_{i}"]
        columns.append(pl.col(f"nll_{i}").alias(f"_word_nll_{i}"))  # a unit's words: its loss
    return Aligned(
        kept.select(columns),
        "word",
        tuple(runs),
        left_out.height,
        tuple(float(left_out[f"nll_{i}"].fill_null(0).sum()) for i in range(len(runs))),
        int((kept["words"] > 1).sum()),
        shape is not None,
    )


def _first_run_words(about: pl.DataFrame, everything: pl.DataFrame) -> pl.DataFrame:
    """Per unit, from the first run: the task and rule of its first word that is not space
    (else of its first), and how many of its words are not space."""
    unit_of_word = everything.filter(pl.col("run") == 0).select("_w", "_unit")
    words = about.join(unit_of_word, on="_w", how="left").sort("_w")
    return words.group_by("_unit").agg(
        pl.col("task").filter("_word").first().fill_null(pl.col("task").first()),
        pl.col("task_reason").filter("_word").first().fill_null(pl.col("task_reason").first()),
        pl.col("_word").sum().cast(pl.Int64).alias("words"),
    )


BYTE_PIECE = r"<0x[0-9A-F]{2}>|\x{FFFD}"  # a piece of a character's bytes (lm/pieces.py), or a
# table from before byte pieces were named (table format 2)


def unit_texts(aligned: Aligned) -> pl.Series:
    """Each unit's text, from the first run's pieces (its words, space-separated, where a piece
    is part of a character: a multibyte character cut into byte pieces, `<0xC3>`, is
    joined back in its words, not shown as bytes).
    Computed when shown or written, not by `align`: joining strings is most of its cost."""
    units = aligned.units
    if aligned.unit == "token":
        return aligned.runs[0].frame.select(pl.col("token").alias("text")).collect().to_series()
    order = units.select(pl.col("doc_id").unique(maintain_order=True)).with_row_index("_doc")
    targets = aligned.runs[0].frame.select(
        "doc_id", "char_start", "char_end", "token", "word", "word_initial"
    ).collect().join(order, on="doc_id", how="inner")  # fmt: skip
    width = 1 + max(
        int(targets.select(pl.col("char_end").max()).item() or 0),
        int(units.select(pl.col("char_end").max()).item() or 0),
    )
    line = pl.col("_doc").cast(pl.Int64) * width
    spans = units.join(order, on="doc_id", how="left").select(
        pl.int_range(pl.len()).alias("_unit"), (line + pl.col("char_start")).alias("_at"),
        (line + pl.col("char_end")).alias("_end"),
    )  # fmt: skip
    targets = (
        targets.with_columns((line + pl.col("char_start")).alias("_at"))
        .sort("_at")
        .join_asof(spans, on="_at", strategy="backward")
        .filter((line + pl.col("char_end")) <= pl.col("_end"))  # inside a compared unit
    )
    texts = targets.group_by("_unit").agg(
        pl.col("token").str.join(""),
        pl.col("word").filter("word_initial").str.join(" "),
    )
    text = pl.when(pl.col("token").str.contains(BYTE_PIECE))
    joined = spans.select("_unit").join(texts, on="_unit", how="left", maintain_order="left")
    return joined.select(
        text.then("word").otherwise("token").fill_null("").alias("text")
    ).to_series()
