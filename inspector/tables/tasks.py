"""Per-task loss tables: the overall loss as a weighted sum of per-task losses.

For a grouping (by task, by document, or by document and task) each row has the group's
`tokens`, its `token_share` of its parent (the corpus, or its document), `mean_nll`,
`loss_contribution = token_share * mean_nll` (so the contributions of a parent's rows add
up to the parent's mean loss), `loss_share`, `top1_accuracy`, `median_rank`,
`mean_entropy`, and a 95% confidence interval of `mean_nll` (bootstrap on small groups). Rows
named `all` close each parent.

Units that compare across tokenizers (nats per token do not: models of different families
split the same text into different numbers of tokens), as lm-eval's rolling-loglikelihood
tasks report them: `bytes` (the UTF-8 bytes of the group's targets: a document's add up to
its text's) and `bits_per_byte` = nll / bytes / ln 2; `words` (spaCy words, the units of
`tables/words.py`: a word is in the task of its first piece; a whitespace target is no word,
so every tokenizer counts the same words) with `nats_per_word` = the words' nll / words (on
the `all` row, all the loss, whitespace's too) and `word_exact_match`, the share of words whose every piece was top-1 (beside
`top1_accuracy` of targets: a smooth fall in loss can show as a jump in exact match). On
the `all` row these are lm-eval's `bits_per_byte` and the log of its `word_perplexity`,
except that lm-eval counts words by whitespace (`len(re.split(r"\\s+", text))`), which
glues punctuation to its word. Computed lazily with polars, so Parquet inputs larger than
memory stream through.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from inspector.errors import InspectorError, message

GROUPINGS = {"task": ["task"], "doc": ["doc_id"], "task,doc": ["doc_id", "task"]}
Z95 = 1.959963984540054  # two-sided 95% normal quantile
NEEDED = ("doc_id", "task", "nll", "rank", "entropy")
BYTE_NEEDS = ("token",)  # the unit columns where the table has what they need, else null
WORD_NEEDS = ("word_start", "word_end")
COLUMNS = (
    "tokens", "token_share", "mean_nll", "loss_contribution", "loss_share", "top1_accuracy",
    "median_rank", "mean_entropy", "mean_nll_ci_low", "mean_nll_ci_high", "ci_method",
    "bytes", "bits_per_byte", "words", "nats_per_word", "word_exact_match",
)  # fmt: skip
LN2 = 0.6931471805599453
# a piece that holds part of a character's bytes is shown as `<0xE6>` (lm/pieces.py): one byte
_SHOWN_BYTE = r"<0x[0-9A-F]{2}>"
# The 95% interval of a mean loss: losses are skewed (most near 0, a long tail), so a normal
# interval on a few tokens can reach below zero. Below this many tokens the interval is a
# percentile bootstrap (inside the range of the data, so never below 0); above it the normal
# approximation, which the central limit theorem makes good there.
BOOTSTRAP_BELOW = 100
BOOTSTRAP_RESAMPLES = 2000


class TasksError(InspectorError):
    """A per-task request that cannot be answered as asked."""


def summarize(
    frame: pl.LazyFrame, by: str = "task", tasks: Sequence[str] | None = None
) -> pl.DataFrame:
    """The per-task (or per-document) table of one token table."""
    if by not in GROUPINGS:
        raise TasksError(message("bad_by", by=by, groupings=", ".join(GROUPINGS)))
    have = frame.collect_schema().names()
    extra = [c for c in (*BYTE_NEEDS, *WORD_NEEDS, "word") if c in have]  # word: is it space
    frame = whole = frame.select(*NEEDED, *extra)
    if tasks:
        present = set(
            frame.select(pl.col("task").unique()).collect(engine="streaming")["task"].to_list()
        )
        unknown = [t for t in tasks if t not in present]
        if unknown:
            raise TasksError(
                message("task_unknown", unknown=unknown[0], present=", ".join(sorted(present)))
            )
        frame = frame.filter(pl.col("task").is_in(list(tasks)))
    keys = GROUPINGS[by]
    parent = ["doc_id"] if by == "task,doc" else []
    groups = _aggregate(frame, keys)
    totals = _aggregate(frame, parent)
    closing = totals.with_columns(*(pl.lit("all").alias(k) for k in keys if k not in parent))
    if not parent:
        closing = closing.with_columns(pl.lit(1).alias("_order"))
    rows = pl.concat(
        [
            groups.with_columns(pl.lit(0).alias("_order")),
            closing.with_columns(pl.lit(1).alias("_order")),
        ],
        how="diagonal",
    )
    parent_totals = totals.select(
        *parent, pl.col("tokens").alias("_parent_tokens"), pl.col("_nll_sum").alias("_parent_nll")
    )
    rows = (
        rows.join(parent_totals, on=parent, how="left")
        if parent
        else rows.join(parent_totals, how="cross")
    )
    rows = rows.with_columns(
        (pl.col("tokens") / pl.col("_parent_tokens")).alias("token_share"),
        (pl.col("_nll_sum") / pl.col("_parent_nll")).alias("loss_share"),
        (pl.col("_nll_std") / pl.col("tokens").sqrt() * Z95).alias("_half"),
    ).with_columns(
        (pl.col("token_share") * pl.col("mean_nll")).alias("loss_contribution"),
        (pl.col("mean_nll") - pl.col("_half")).alias("mean_nll_ci_low"),
        (pl.col("mean_nll") + pl.col("_half")).alias("mean_nll_ci_high"),
    )
    order = [*parent, "_order", pl.col("loss_contribution")]
    # the streaming engine keeps memory flat when the input is a scan of Parquet parts
    out = rows.sort(order, descending=[*(False for _ in parent), False, True]).collect(
        engine="streaming"
    )
    out = _bootstrap_small(out, frame, keys, parent)
    out = _units(out, frame, whole, keys, parent, extra, tasks)
    return out.select(*keys, *COLUMNS)


def piece_bytes() -> pl.Expr:
    """The UTF-8 bytes of each target's `token`: a piece shown as its bytes (`<0xE6>`) is
    one byte, so a character split into byte pieces counts its bytes once."""
    token = pl.col("token")
    shown = token.str.count_matches(_SHOWN_BYTE).cast(pl.Int64)
    return token.str.len_bytes().cast(pl.Int64) - 5 * shown


def _units(
    out: pl.DataFrame, frame: pl.LazyFrame, whole: pl.LazyFrame, keys: list[str],
    parent: list[str], have: list[str], tasks: Sequence[str] | None,
) -> pl.DataFrame:  # fmt: skip
    """The columns in units that compare across tokenizers: bytes and bits per byte, words,
    nats per word and exact match of words (null where the table lacks their columns).
    Words are made from the `whole` table, so a word is in its first piece's task even when
    `tasks` leaves that piece out."""
    from inspector.tables.words import WORD_KEY

    closing = [k for k in keys if k not in parent]
    parts = []
    if all(c in have for c in BYTE_NEEDS):
        per_byte = [piece_bytes().sum().alias("bytes"), pl.col("nll").sum().alias("_b_nll")]
        parts.append((frame, per_byte))
    if all(c in have for c in WORD_NEEDS):
        # a whitespace target is a unit of its own (words.py) but no word: how many a text has
        # depends on the tokenizer, so it is not counted (its loss is, on the `all` row)
        real = (pl.col("word").first().str.strip_chars() != "") if "word" in have else pl.lit(True)
        per_word = [
            pl.col("_real").sum().cast(pl.Int64).alias("words"),
            pl.col("nll").sum().alias("_w_nll"),
            (pl.col("rank") == 1).filter(pl.col("_real")).mean().alias("word_exact_match"),
        ]
        words = whole.group_by(WORD_KEY).agg(  # a word: its first piece's task (words.py)
            pl.col("task").first(), pl.col("nll").sum(), pl.col("rank").max(), real.alias("_real")
        )
        if tasks:
            words = words.filter(pl.col("task").is_in(list(tasks)))
        parts.append((words, per_word))
    for source, aggs in parts:
        groups = source.group_by(keys).agg(aggs)
        totals = source.group_by(parent).agg(aggs) if parent else source.select(aggs)
        totals = totals.with_columns(*(pl.lit("all").alias(k) for k in closing))
        found = pl.concat([groups, totals.select(groups.collect_schema().names())])
        out = out.join(found.collect(engine="streaming"), on=keys, how="left",
                       maintain_order="left")  # fmt: skip
    if "bytes" in out.columns:
        out = out.with_columns((pl.col("_b_nll") / pl.col("bytes") / LN2).alias("bits_per_byte"))
    if "words" in out.columns:  # a task may hold only later pieces of words: no words
        out = out.with_columns(pl.col("words").fill_null(0)).with_columns(
            pl.when(pl.col("words") > 0).then(pl.col("_w_nll") / pl.col("words"))
            .alias("nats_per_word")
        )  # fmt: skip
    missing = {
        "bytes": pl.Int64, "bits_per_byte": pl.Float64, "words": pl.Int64,
        "nats_per_word": pl.Float64, "word_exact_match": pl.Float64,
    }  # fmt: skip
    return out.with_columns(
        pl.lit(None, dtype=kind).alias(c) for c, kind in missing.items() if c not in out.columns
    )


def _bootstrap_small(
    out: pl.DataFrame, frame: pl.LazyFrame, keys: list[str], parent: list[str]
) -> pl.DataFrame:
    """The 95% interval of `mean_nll` by percentile bootstrap for rows of fewer than
    `BOOTSTRAP_BELOW` tokens (a fixed seed: the same table gives the same interval)."""
    import numpy as np

    method = (
        pl.when(pl.col("tokens") < 2)
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("tokens") < BOOTSTRAP_BELOW)
        .then(pl.lit("bootstrap"))
        .otherwise(pl.lit("normal"))
    )
    out = out.with_columns(method.alias("ci_method"))
    small = out.filter(pl.col("ci_method") == "bootstrap")
    if small.is_empty():
        return out
    values = _losses_of(small, frame, keys, parent)
    rng = np.random.default_rng(0)
    low, high = out["mean_nll_ci_low"].to_list(), out["mean_nll_ci_high"].to_list()
    index = out.with_row_index("_row").filter(pl.col("ci_method") == "bootstrap")
    for row in index.iter_rows(named=True):
        nll = values[tuple(row[k] for k in keys)]
        draws = rng.integers(0, len(nll), size=(BOOTSTRAP_RESAMPLES, len(nll)))
        low[row["_row"]], high[row["_row"]] = np.quantile(
            nll[draws].mean(axis=1), [0.025, 0.975]
        ).tolist()
    return out.with_columns(
        pl.Series("mean_nll_ci_low", low, dtype=pl.Float64),
        pl.Series("mean_nll_ci_high", high, dtype=pl.Float64),
    )


def _aggregate(frame: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    aggs = [
        pl.len().cast(pl.Int64).alias("tokens"),
        pl.col("nll").sum().alias("_nll_sum"),
        pl.col("nll").mean().alias("mean_nll"),
        pl.col("nll").std().alias("_nll_std"),
        (pl.col("rank") == 1).mean().alias("top1_accuracy"),
        pl.col("rank").median().alias("median_rank"),
        pl.col("entropy").mean().alias("mean_entropy"),
    ]
    return frame.group_by(keys).agg(aggs) if keys else frame.select(aggs)


def _losses_of(
    rows: pl.DataFrame, frame: pl.LazyFrame, keys: list[str], parent: list[str]
) -> dict[tuple[Any, ...], Any]:
    """The losses of each of `rows` (summary rows, keyed by `keys`), read in one pass per
    kind of row: the groups, and the closing `all` rows (all tokens of their parent)."""
    import numpy as np

    out: dict[tuple[Any, ...], Any] = {}
    closing = [k for k in keys if k not in parent]  # "all" in a closing row
    groups = rows.filter(pl.all_horizontal(pl.col(k) != "all" for k in closing))
    totals = rows.filter(pl.all_horizontal(pl.col(k) == "all" for k in closing))
    for part, on in ((groups, keys), (totals, parent)):
        if part.is_empty():
            continue
        lazy = frame.join(part.lazy().select(on), on=on, how="semi") if on else frame
        table = lazy.group_by(on or pl.lit(0).alias("_all")).agg(pl.col("nll")).collect()
        for row in table.iter_rows(named=True):
            key = tuple(row[k] if k in on else "all" for k in keys)
            out[key] = np.sort(np.asarray(row["nll"], dtype=np.float64))  # order-free: same draws
    return out
