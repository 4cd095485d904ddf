"""`inspector tasks`: per-task loss tables, one run or several compared."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from inspector.cli.given import add_from_option, runs_of
from inspector.cli.options import add_corpus_options, add_model_options, add_scoring_options


def add_arguments(sub: Any) -> None:
    tasks = sub.add_parser(
        "tasks",
        help="per-task loss tables, for one model or several (how tasks move with model size)",
        description="The overall loss as a weighted sum of per-task losses: per task, its token "
        "share, mean loss, contribution (share x mean loss, summing to the overall loss), loss share, "
        "top-1 accuracy, median rank, mean entropy and a 95% interval of the mean loss. Several "
        "--model or --from give one block per model with the change against the first.",
    )
    add_corpus_options(tasks)
    add_model_options(tasks, several=True, vary=True)
    add_from_option(tasks)
    add_scoring_options(tasks, vary=True)
    tasks.add_argument(
        "--unit",
        default="token",
        choices=["token", "word"],
        help="rows of model tokens (default), or of words: a word's loss is the sum of its pieces'",
    )
    tasks.add_argument(
        "--by",
        default="task",
        choices=["task", "doc", "task,doc"],
        metavar="task|doc|task,doc",
        help="rows per task (default), per document, or per document and task",
    )
    tasks.add_argument(
        "--task",
        dest="task_filter",
        action="append",
        default=None,
        metavar="T",
        help="keep only these tasks (repeatable)",
    )
    _add_output_options(tasks)
    tasks.add_argument(
        "--fit",
        action="store_true",
        help="fit each task's mean loss against model size across 3 or more runs: a power law "
        "with a floor, L = a*N^-alpha + c, from 4 runs (log-linear with 3), with 95%% bootstrap "
        "intervals over documents; the table is the fits, --plot draws points and curves",
    )
    tasks.add_argument(
        "--sizes",
        default=None,
        metavar="N,N,...",
        help="with --fit: each run's size in the order of --model/--from (training tokens, "
        "a checkpoint's step…); default: each model's parameter count",
    )
    tasks.add_argument(
        "--fit-unit",
        default="auto",
        choices=["auto", "token", "byte", "word"],
        help="with --fit: nats per token, bits per byte or nats per word (default auto: per "
        "token where the runs share a tokenizer, else per byte)",
    )
    tasks.add_argument(
        "--labels",
        default="heuristic",
        choices=["heuristic", "human", "both"],
        help="task labels from the rules (default), from people in the annotation store (--db), or both",
    )
    tasks.add_argument(
        "--db",
        type=Path,
        default=None,
        metavar="FILE",
        help="the annotation database, for --labels human or both (default: where inspector annotate keeps labels)",
    )
    tasks.set_defaults(func=run)


def _add_output_options(tasks: Any) -> None:
    """Where the table goes and in which form, and the plot."""
    tasks.add_argument(
        "--format",
        default=None,
        choices=["table", "csv", "parquet", "json", "jsonl", "md"],
        help="output format (default: from --out's extension, else an aligned table)",
    )
    tasks.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="write here instead of standard output",
    )
    tasks.add_argument("--force", action="store_true", help="replace --out if it exists")
    tasks.add_argument(
        "--plot",
        nargs="?",
        const="",
        default=None,
        type=str,
        metavar="FILE",
        help="also draw the per-task chart (loss against model size with several runs): in the "
        "terminal, or as an image FILE (.svg or .png, the run settings in its caption and metadata)",
    )


def run(args: argparse.Namespace) -> int:
    from inspector.errors import ExportError, message
    from inspector.tables.compare import compare

    fmt = _tasks_format(args)
    if args.fit_unit != "auto" and not args.fit:
        raise ExportError(message("fit_unit_alone", unit=args.fit_unit))
    if args.plot is not None and args.by != "task":
        raise ExportError(message("plot_by"))
    figure = Path(args.plot) if args.plot else None
    inputs = [*args.paths, *(args.tables or []), args.db, args.rules]
    if figure is not None:  # checked before any scoring, like --out
        from corpora.readers import SUFFIXES
        from inspector.files import check_output

        if figure.suffix.lower() not in (".svg", ".png"):
            raise ExportError(message("plot_format", path=figure))
        check_output(figure, args.force, inputs, sorted(SUFFIXES))
    if args.out is not None:  # every output problem is found before any scoring
        from corpora.readers import SUFFIXES
        from inspector.files import check_output

        check_output(args.out, args.force, inputs, sorted(SUFFIXES))
    runs = _runs(args)
    if args.fit:
        return _fits(args, fmt, runs, figure)
    table = compare(runs, args.by, args.task_filter)
    if len(set(table["model"])) == 1:  # one run (by one or both label sources: see `labels`)
        table = table.drop("model", "n_params", "delta_mean_nll", "delta_loss_contribution",
                           strict=False)  # fmt: skip
    text = _page(args, fmt, runs, table)
    if text is not None:
        sys.stdout.write(text)
    else:
        print(f"wrote {args.out}", file=sys.stderr)
    if figure is not None:
        _figure(runs, table, figure, args.force)
    elif args.plot is not None:
        _plot(runs, table)
    return 0


def _fits(args: argparse.Namespace, fmt: str, runs: list[Any], figure: Path | None) -> int:
    """`--fit`: the per-task fits of loss against size, as the table asked for."""
    from inspector import visible
    from inspector.files import write_new
    from inspector.tables.compare import compare, describe
    from inspector.tables.names import short_names
    from inspector.tables.render import fit_width, param_count, write
    from inspector.tables.scaling import (
        FIT_DROPS,
        FIT_NOTE,
        FIT_UNITS,
        fit_runs,
        readable,
    )

    fitted = fit_runs(runs, _sizes(args.sizes), args.fit_unit)
    fits, sizes = fitted.fits, fitted.sizes
    if fmt not in ("table", "md"):
        text = write(fits, fmt, args.out, args.force)
    else:
        named = zip(short_names(runs), sizes, strict=True)
        lines = [*describe(runs), "sizes: " + ", ".join(
            f"{name} {n:g}" if args.sizes else f"{name} {param_count(int(n))}"
            for name, n in named
        ) + (" (--sizes)" if args.sizes else " (parameters)"),
            f"fitted: {FIT_UNITS[fitted.unit][1]} ({_unit_reason(args.fit_unit, fitted)})",
            FIT_NOTE]  # fmt: skip
        shown = readable(fits)
        if fmt == "table" and args.out is None and sys.stdout.isatty():
            shown, dropped = fit_width(shown, shutil.get_terminal_size().columns, FIT_DROPS)
            if dropped:
                lines.append(f"left out to fit this terminal: {', '.join(dropped)} "
                             "(--format md or csv shows every column)")  # fmt: skip
        page = "\n".join(visible.line(x) for x in lines) + "\n\n" + (write(shown, fmt, None) or "")
        text = page
        if args.out is not None:
            write_new(args.out, lambda tmp: tmp.write_text(page), args.force)
            text = None
    if text is not None:
        sys.stdout.write(text)
    else:
        print(f"wrote {args.out}", file=sys.stderr)
    if args.plot is not None:
        from inspector.tables.plot import in_unit

        table = in_unit(compare(runs, "task", args.task_filter), fitted.unit)
        if args.sizes:
            table = _at_sizes(table, runs, sizes)
        if figure is not None:
            _figure(runs, table, figure, args.force, fits)
        else:
            _plot(runs, table, fits)
    return 0


def _unit_reason(asked: str, fitted: Any) -> str:
    """Why the fit is in its unit, for the `fitted:` line."""
    from inspector.tables.scaling import TOKENIZERS_DIFFER

    if fitted.tokenizers_differ:
        return TOKENIZERS_DIFFER
    if asked != "auto":
        return f"--fit-unit {asked}"
    return "the runs share one tokenizer, so nats per token compare; --fit-unit byte or word for the others"


def _sizes(text: str | None) -> list[float] | None:
    from inspector.errors import ExportError, message

    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise ExportError(message("fit_sizes_bad", sizes=text)) from None


def _at_sizes(table: Any, runs: list[Any], sizes: list[float]) -> Any:
    """The comparison table with each run's given size as its `n_params` (the x axis)."""
    import polars as pl

    from inspector.tables.compare import run_names

    given = dict(zip(run_names(runs), sizes, strict=True))
    return table.with_columns(
        pl.col("model").replace_strict(given, return_dtype=pl.Float64).alias("n_params"),
        pl.lit("size (--sizes)").alias("size_axis"),  # the x axis is not parameters
    )


def _runs(args: argparse.Namespace) -> list[Any]:
    """The runs asked for (`cli/given.py`), as word units with --unit word."""
    from dataclasses import replace

    runs = runs_of(args)
    if args.unit == "word":
        from inspector.tables.words import word_units

        runs = [replace(run, frame=word_units(run.frame)) for run in runs]
    return runs


def _page(args: argparse.Namespace, fmt: str, runs: list[Any], table: Any) -> str | None:
    """The table as text (returned) or a file (written): for people, the runs named above
    it and fitted to the terminal; as data, every row with its run's settings."""
    from inspector import visible
    from inspector.files import write_new
    from inspector.tables.compare import RUN_COLUMNS, describe
    from inspector.tables.render import fit_width, write

    if fmt not in ("table", "md"):  # data: every row carries its run's settings (RUN_COLUMNS)
        return write(table, fmt, args.out, args.force)
    lines = describe(runs)
    if args.unit == "word":
        lines.append(
            "units: words (a word's loss is the sum of its pieces'; `tokens` counts words)"
        )
    if args.task_filter:
        lines.append(
            f"shares are of the tasks chosen ({', '.join(args.task_filter)}), not of the "
            "whole corpus; `all` is their sum"
        )
    shown = table.drop(RUN_COLUMNS)
    if "model" in shown.columns:  # for people: short names, each run's full name once above
        from inspector.tables.names import short_model_column

        shown, legend = short_model_column(shown, runs)
        lines += legend
    if "delta_bits_per_byte" in shown.columns:  # other tokenizers: no nats per token side by side
        from inspector.tables.compare import TOKENIZERS_DIFFER

        lines.append(TOKENIZERS_DIFFER)
        shown = shown.drop("mean_nll", "loss_contribution", "mean_nll_ci_low", "mean_nll_ci_high",
                           "ci_method", "mean_entropy", strict=False)  # fmt: skip
    if fmt == "table" and args.out is None and sys.stdout.isatty():
        shown, dropped = fit_width(shown, shutil.get_terminal_size().columns)
        if dropped:
            lines.append(
                f"left out to fit this terminal: {', '.join(dropped)} "
                "(--format md or csv shows every column)"
            )
    head = "\n".join(visible.line(line) for line in lines)
    page = head + "\n\n" + (write(shown, fmt, None) or "")
    if args.out is None:
        return page
    write_new(args.out, lambda tmp: tmp.write_text(page), args.force)
    return None


def _figure(runs: list[Any], table: Any, path: Path, force: bool, fits: Any = None) -> None:
    """The chart as an image file, captioned with what names the runs."""
    from inspector.files import write_new
    from inspector.tables.compare import describe
    from inspector.tables.figure import save_figure
    from inspector.tables.render import param_count

    chart = _with_model(runs, table)
    caption = describe(runs)
    if len(runs) > 1 and "n_params" in chart.columns:  # which point is which run
        named = chart.select("model", "n_params").unique(maintain_order=True).rows()
        caption.append("runs: " + ", ".join(f"{m} ({param_count(n)})" for m, n in named))
    if fits is None:
        draw = None
    else:
        from functools import partial

        from inspector.tables.figure import fit_figure

        draw = partial(fit_figure, fits=fits)
    write_new(path, lambda tmp: save_figure(chart, tmp, caption, path.suffix, draw), force)
    print(f"wrote {path}", file=sys.stderr)


def _with_model(runs: list[Any], table: Any) -> Any:
    import polars as pl

    if "model" in table.columns:
        return table
    return table.with_columns(
        pl.lit(runs[0].label).alias("model"),
        pl.lit(runs[0].settings.get("n_params")).alias("n_params"),
    )


def _plot(runs: list[Any], table: Any, fits: Any = None) -> None:
    """The per-task chart, in colour on a terminal; with `fits`, their curves through the
    points and a second panel of accuracy."""
    from inspector.cli.options import print_chart
    from inspector.tables.plot import plot

    print_chart(plot(_with_model(runs, table), fits=fits), before="\n")


TASKS_FORMATS = {".csv": "csv", ".parquet": "parquet", ".json": "json", ".jsonl": "jsonl",
                 ".md": "md", ".txt": "table"}  # fmt: skip


def _tasks_format(args: argparse.Namespace) -> str:
    """`--format`, else the format --out's extension names, else an aligned table."""
    from inspector.errors import ExportError, message

    if args.format or args.out is None:
        return str(args.format or "table")
    suffix = args.out.suffix.lower()
    if suffix not in TASKS_FORMATS:
        raise ExportError(
            message(
                "tasks_out_format",
                out=args.out,
                suffix=suffix or "(none)",
                tasks_formats=", ".join(TASKS_FORMATS),
            )
        )
    return TASKS_FORMATS[suffix]
