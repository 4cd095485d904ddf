"""Tables as text for people (aligned, Markdown) and as data (CSV, JSON, JSONL, Parquet):
one renderer, one precision, for every table inspector prints."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from inspector import visible
from inspector.errors import message
from inspector.tables.tasks import TasksError

FORMATS = ("table", "csv", "parquet", "json", "jsonl", "md")


def render(table: pl.DataFrame, fmt: str) -> str:
    """The table as text: an aligned table, CSV, JSON, JSONL or Markdown."""
    if fmt == "csv":  # a list in one cell as a JSON array
        lists = [c for c, t in table.schema.items() if isinstance(t, pl.List)]
        return table.with_columns(
            pl.struct(pl.col(c).alias("v")).struct.json_encode().str.slice(5).str.head(-1).alias(c)
            for c in lists
        ).write_csv()
    if fmt == "json":
        return table.write_json() + "\n"
    if fmt == "jsonl":
        return table.write_ndjson()
    if fmt in ("table", "md"):
        cells = [[visible.line(v) for v in row] for row in column_cells(table)]
        header = [visible.line(c) for c in table.columns]
        if fmt == "md":
            lines = [
                "| " + " | ".join(header) + " |",
                "|" + "|".join(" --- " for _ in header) + "|",
            ]
            lines += ["| " + " | ".join(r) + " |" for r in cells]
            return "\n".join(lines) + "\n"
        widths = [
            max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
            for i, h in enumerate(header)
        ]
        text = [header, *cells]
        numeric = [table.schema[c].is_numeric() for c in header]
        return (
            "\n".join(
                "  ".join(
                    v.rjust(w) if num else v.ljust(w)
                    for v, w, num in zip(row, widths, numeric, strict=True)
                ).rstrip()
                for row in text
            )
            + "\n"
        )
    raise TasksError(message("tasks_format", fmt=fmt, formats=", ".join(FORMATS)))


PROBABILITIES = ("prob", "p")  # columns of probabilities, printed in one format per column
SMALL_PROB = 1e-3  # below this, 4 decimals would lose a probability's size


def scientific(probs: Any) -> bool:
    """Whether probabilities (a polars Series or an iterable of floats) are printed in
    scientific notation: when any of them is too small for 4 decimals, all of them are."""
    return any(v is not None and 0 < v < SMALL_PROB for v in probs)


def column_cells(table: pl.DataFrame) -> list[list[str]]:
    """Every row of `table` as `cell` prints it, each probability column in one format
    (4 decimals, or all in scientific notation when one value needs it: `1.75e-01` above
    `1.76e-04`, never `0.1753` above `1.76e-04`)."""
    sci = {
        c for c in PROBABILITIES if c in table.columns and table.schema[c].is_float()
        and scientific(table[c])
    }  # fmt: skip
    return [
        [cell(v, c, c in sci) for v, c in zip(row, table.columns, strict=True)]
        for row in table.iter_rows()
    ]


def cell(value: Any, column: str = "", sci: bool = False) -> str:
    """One value as the text tables print it (4 decimals, counts and ranks with thousands
    separators, positions and ids bare, sizes as 135M; a probability below 1e-3, or any
    with `sci`, as 1.76e-04: see `column_cells`)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if column == "median_rank" and isinstance(value, float):
        return f"{value:,.1f}".removesuffix(".0")  # a rank, or halfway between two
    if column == "n_params" and isinstance(value, int):
        return param_count(value)  # 135M, 1.7B: the exact count is in csv, json and parquet
    if column in PROBABILITIES and isinstance(value, float) and (sci or 0 < value < SMALL_PROB):
        return f"{value:.2e}"  # a probability too small for 4 decimals still shows its size
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, bool):  # before int, which bool is: True, not 1
        return str(value)
    if isinstance(value, int):  # a count or a rank: 1,829 beside 23,363, never 1829
        return str(value) if column in POSITIONS else f"{value:,}"
    return str(value)


# Integer columns that are places or ids, not amounts: printed bare, as the table holds them
POSITIONS = ("pos", "token_id", "char_start", "char_end", "word_start", "word_end", "top_ids")


# Columns a narrow terminal drops first from the aligned table (csv, md and the rest keep all)
NARROW_DROPS = (
    "corpus", "rules", "top_k", "stride", "window", "dtype", "ci_method", "bytes", "words",
    "mean_nll_ci_low", "mean_nll_ci_high", "mean_entropy", "labels", "delta_loss_contribution",
    "n_params", "median_rank", "nats_per_word", "word_exact_match", "bits_per_byte",
    "loss_share", "top1_accuracy",
)  # fmt: skip


def fit_width(
    table: pl.DataFrame, width: int, drops: Sequence[str] = NARROW_DROPS
) -> tuple[pl.DataFrame, list[str]]:
    """`table` without the columns it must lose (in `drops` order) for its aligned
    rendering to fit `width` characters; and the columns left out."""
    dropped: list[str] = []
    for column in drops:
        if max(map(len, render(table, "table").splitlines()), default=0) <= width:
            break
        if column in table.columns:
            table = table.drop(column)
            dropped.append(column)
    return table, dropped


def write(table: pl.DataFrame, fmt: str, out: Path | None, force: bool = False) -> str | None:
    """Write to `out` (atomically, never over an existing file unless `force`) or return the text."""
    from inspector.files import text_or_file

    return text_or_file(table, fmt, lambda: render(table, fmt), out, force, TasksError)


def param_count(n: int | None) -> str:
    """A parameter count as people write it: 135M, 1.7B, 70B (`?` when unknown)."""
    if not n:
        return "?"
    if n >= 1e9:
        return f"{n / 1e9:.2g}B" if n < 1e10 else f"{n / 1e9:.0f}B"
    if n >= 1e6:
        return f"{n / 1e6:.0f}M"
    return f"{n / 1e3:.0f}K" if n >= 1e3 else str(n)


def bar(share: float, width: int) -> str:
    """`share` (0 to 1) of `width` cells as a bar in eighths of a cell (`███▌`)."""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + ("" if not part else " ▏▎▍▌▋▊▉"[part])
