"""`inspector compare`: runs of one corpus compared token by token (or word by word across
tokenizers): per task what changed, and with three runs or more each unit's trend."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from inspector.cli.given import add_from_option, runs_of
from inspector.cli.options import add_corpus_options, add_model_options, add_scoring_options


def add_arguments(sub: Any) -> None:
    p = sub.add_parser(
        "compare",
        help="compare runs token by token: what scale, context or precision changes, per task",
        description="Two runs or more of one corpus (models, checkpoints, dtypes, windows), "
        "aligned by position when they share a tokenizer, else by word. Per task: units "
        "compared, mean change in nll, shares improved and worsened beyond --threshold, and "
        "each task's contribution to the overall change. With three runs or more, each unit's "
        "trend: improving, worsening, u_shaped, inverted_u or flat.",
    )
    add_corpus_options(p)
    add_model_options(p, several=True, vary=True)
    add_from_option(p)
    add_scoring_options(p, vary=True)
    g = p.add_argument_group("comparison")
    g.add_argument(
        "--unit",
        default="auto",
        choices=["auto", "token", "word"],
        help="compare tokens (one tokenizer) or words (any); default: tokens when the runs' "
        "tokens are the same, else words",
    )
    g.add_argument(
        "--threshold",
        type=_nats,
        default=None,
        metavar="NATS",
        help="a change counts as improved or worsened beyond this, and as a trend's band (default: 0.5)",
    )
    g.add_argument(
        "--order",
        default="size",
        choices=["size", "given"],
        help="run order: by parameter count, smallest first (default, when every run knows it), or as given",
    )
    out = p.add_argument_group("output")
    out.add_argument(
        "--format",
        default="table",
        choices=["table", "md", "csv", "json", "jsonl"],
        help="the per-task table on standard output (default: an aligned table)",
    )
    out.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the per-unit table (.parquet, .csv or .jsonl): each run's nll side by side, the change (and with 3 runs or more, the trend)",
    )
    out.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=run)


NARROW = (  # dropped first on a narrow terminal
    "nats_per_word_first", "bits_per_byte_first", "nats_per_word", "bits_per_byte", "unit_share",
    "mean_nll_first", "units", "mean_nll",
)  # fmt: skip


def _nats(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text}: use a number of nats, 0 or more")
    return value


def run(args: argparse.Namespace) -> int:
    from inspector.tables.changes import THRESHOLD, compare_runs

    if args.out is not None:  # every output problem is found before any scoring
        from corpora.readers import SUFFIXES
        from inspector.files import refuse_overwriting_inputs
        from inspector.tables.schema import check_table_output

        check_table_output(args.out, args.force)
        inputs = [*args.paths, *(Path(t) for t in args.tables or []), args.rules]
        refuse_overwriting_inputs(args.out, inputs, sorted(SUFFIXES))
    threshold = THRESHOLD if args.threshold is None else args.threshold
    comparison = compare_runs(runs_of(args), args.unit, threshold, args.order)
    sys.stdout.write(_page(comparison, args.format))
    if args.out is not None:
        from inspector.tables.schema import write_table

        written = write_table(comparison.unit_table(), args.out, _settings(comparison), args.force)
        print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    return 0


def _page(comparison: Any, fmt: str) -> str:
    """The per-task changes (and trend shares): for people under the header lines, as data
    one table with the trend shares of a task on each of its rows."""
    import polars as pl

    from inspector import visible
    from inspector.tables.render import render

    table, trends = comparison.changes(), comparison.trends()
    if fmt not in ("table", "md"):  # as data, each row says what it compares
        table = table.with_columns(
            pl.lit(comparison.names[0]).alias("first"),
            pl.lit(comparison.threshold).alias("threshold"),
            pl.lit(comparison.aligned.unit).alias("unit"),
        )
        if trends is not None:
            table = table.join(trends.drop("units"), on="task", how="left", maintain_order="left")
        return render(table, fmt)
    # for people: runs by number in the table, named once above it
    numbers = {name: f"run {i}" for i, name in enumerate(comparison.names, 1)}
    table = table.with_columns(pl.col("model").replace_strict(numbers).alias("run")).drop("model")
    table = table.select("run", *[c for c in table.columns if c != "run"])
    lines = comparison.header()
    lines += [f"run {i}: {name}" for i, name in enumerate(comparison.names, 1)]
    lines.append("tasks by contribution, most negative (most improved) first")
    if fmt == "table" and sys.stdout.isatty():
        import shutil

        from inspector.tables.render import fit_width

        table, dropped = fit_width(table, shutil.get_terminal_size().columns, NARROW)
        if dropped:
            lines.append(
                f"left out to fit this terminal: {', '.join(dropped)} (--format md or csv shows every column)"
            )
    head = "\n".join(visible.line(line) for line in lines)
    page = head + "\n\n" + render(table, fmt)
    if trends is not None:
        page += "\nshare of units in each trend class (tasks by units)\n" + render(trends, fmt)
    return page


def _settings(comparison: Any) -> dict[str, Any]:
    """What the per-unit file's numbers depend on: each run's settings under its name."""
    return {
        "comparison": {
            "unit": comparison.aligned.unit,
            "threshold": comparison.threshold,
            "order": comparison.order,
            "runs": [
                {"name": name, **run.settings}
                for name, run in zip(comparison.names, comparison.runs, strict=True)
            ],
        }
    }
