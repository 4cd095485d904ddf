"""`inspector layers`: per task, the layer where predictions form (the logit lens)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from inspector.cli.options import (
    add_corpus_options,
    add_model_options,
    add_scoring_options,
    at_least,
)  # fmt: skip

DEFAULT_SAMPLE = 2000


def _sample(text: str) -> int | None:
    return None if text == "all" else at_least(1)(text)


def add_arguments(sub: Any) -> None:
    p = sub.add_parser(
        "layers",
        help="per task, the layer where predictions form: the logit lens over a corpus's targets",
        description="Put the residual stream after every layer through the model's final norm "
        "and output head (the logit lens), at each target of a scored corpus, and say per task "
        "and layer: the mean loss, the share of targets that are top-1, and the share settled "
        "(top-1 from that layer to the last). Read from the same windows that scored the table.",
    )
    add_corpus_options(p)
    add_model_options(p)
    p.add_argument("--from", dest="table", default=None, metavar="TABLE",
                   help="a table scored before by --model (a file, or a folder or glob of Parquet parts)")  # fmt: skip
    add_scoring_options(p)
    p.add_argument("--sample", type=_sample, default=DEFAULT_SAMPLE, metavar="N",
                   help=f"read at most N targets, drawn uniformly (default: {DEFAULT_SAMPLE:,}; "
                   "`all` for every one)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="the sample's seed (default: 0)")
    p.add_argument("--tuned-lens", type=Path, default=None, metavar="FILE",
                   help="a tuned lens for --model (the params.pt the tuned-lens package saves): "
                   "its per-layer maps are applied before the final norm")  # fmt: skip
    p.add_argument("--metric", default="settled_share",
                   choices=["settled_share", "top1_share", "mean_nll"],
                   help="what the terminal table and the chart show (default: settled_share)")  # fmt: skip
    p.add_argument("--format", default=None, choices=["table", "md", "csv", "json", "jsonl", "parquet"],
                   help="output format (default: from --out's extension, else a table by layer); "
                   "md, csv, json, jsonl and parquet hold every row and the run's settings")  # fmt: skip
    p.add_argument("--out", type=Path, default=None, metavar="FILE", help="write here instead")
    p.add_argument("--force", action="store_true", help="replace --out or --plot FILE if it exists")
    p.add_argument("--plot", nargs="?", const="", default=None, metavar="FILE",
                   help="also draw --metric against the layer per task: in the terminal, or as "
                   "an image FILE (.svg or .png)")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from inspector.cli.options import cache_dir_of, out_format
    from inspector.cli.progress import TokenProgress
    from inspector.lm.lens import read_tuned
    from inspector.lm.loading import load_model
    from inspector.run.layers import run_layers, tuned_lens

    by_suffix = {".csv": "csv", ".jsonl": "jsonl", ".json": "json", ".md": "md",
                 ".parquet": "parquet"}  # fmt: skip
    fmt = out_format(args.out, args.format, by_suffix, "table")
    figure = Path(args.plot) if args.plot else None
    check_outputs(args, figure, fmt)
    state = read_tuned(args.tuned_lens) if args.tuned_lens is not None else None
    stored = stored_run(args)  # the corpus or table read (and scored) before the model loads
    lm = load_model(args.model, cache_dir_of(args), args.device, args.dtype)
    tuned = tuned_lens(lm, state) if state is not None else None
    with TokenProgress("the lens", "targets") as progress:
        table = run_layers(lm, stored, args.sample, args.seed, tuned, progress)
    if table.height:  # kept for the app's `s` screen; a cache that cannot be written costs nothing
        from inspector.run.layers import save_layers

        try:
            save_layers(cache_dir_of(args), table)
        except OSError as e:
            print(
                f"inspector: warning: the cache keeps no copy of this table ({e})", file=sys.stderr
            )
    head = _head(stored, table)
    text = _page(table, fmt, args.metric, head)
    if args.out is None:
        sys.stdout.write(text or "")
    else:
        from inspector.files import write_new
        from inspector.tables.render import write

        if fmt == "table":
            write_new(args.out, lambda tmp: tmp.write_text(text or ""), args.force)
        else:
            write(table, fmt, args.out, args.force)
        print(f"wrote {args.out}", file=sys.stderr)
    if figure is not None:
        _figure(table, figure, head, args.metric, args.force)
    elif args.plot is not None:
        import shutil

        from inspector.cli.options import print_chart
        from inspector.tables.layers import plot_layers

        print_chart(plot_layers(table, args.metric, shutil.get_terminal_size().columns, 24))
    return 0


def check_outputs(args: argparse.Namespace, figure: Path | None, fmt: str) -> None:
    """Every output problem found before any scoring: a bad name, a file not to replace."""
    from corpora.readers import SUFFIXES
    from inspector.errors import ExportError, message
    from inspector.files import check_output

    if fmt == "parquet" and args.out is None:
        raise ExportError(message("parquet_needs_out"))
    inputs = [*args.paths, args.table, args.rules, getattr(args, "tuned_lens", None)]
    if figure is not None:
        if figure.suffix.lower() not in (".svg", ".png"):
            raise ExportError(message("plot_format", path=figure))
        check_output(figure, args.force, inputs, sorted(SUFFIXES))
    if args.out is not None:
        check_output(args.out, args.force, inputs, sorted(SUFFIXES))


def stored_run(args: argparse.Namespace) -> Any:
    """The run the lens reads: a stored table, or the corpus scored (or from the cache)."""
    if args.table:
        from inspector.run.stored import open_table

        return open_table(args.table)
    from corpora import bundled_path, read_corpus
    from inspector.cli.options import cache_dir_of, score_config
    from inspector.cli.score import scored
    from taggers.rules import load_rules

    docs = read_corpus(args.paths or [bundled_path()], text_field=args.text_field,
                       text_column=args.text_column)  # fmt: skip
    return scored(docs, args.model, args.device, args.dtype, score_config(args),
                  load_rules(args.rules), cache_dir_of(args))  # fmt: skip


def _head(stored: Any, table: Any) -> list[str]:
    first = table.row(0, named=True) if table.height else {}
    tuned = first.get("lens") == "tuned"
    return head_lines(stored, table, "through " + ("a tuned lens" if tuned else
                                                    "the logit lens (final norm and head)"))  # fmt: skip


def head_lines(stored: Any, table: Any, how: str) -> list[str]:
    """What names a per-task table read from a run: the run, then `how` and the targets read."""
    from inspector.tables.compare import describe

    first = table.row(0, named=True) if table.height else {}
    sampled, targets = first.get("sampled", 0), first.get("targets", 0)
    drawn = (
        f"{sampled:,} of {targets:,} targets, drawn with seed {first.get('seed')} (--sample all: every one)"
        if sampled < targets
        else f"all {targets:,} targets"
    )
    return [*describe([stored]), f"{how} · {drawn}"]


def _page(table: Any, fmt: str, metric: str, head: list[str]) -> str | None:
    from inspector import visible
    from inspector.tables.layers import METRICS, by_layer, settling
    from inspector.tables.render import render

    if fmt not in ("table",):
        return None if fmt == "parquet" else render(table, fmt)
    lines = [visible.line(line) for line in head]
    lines += ["", *settling(table), "", f"{METRICS[metric]}, by layer and task:"]
    return "\n".join(lines) + "\n" + render(by_layer(table, metric), "table")


def _figure(table: Any, path: Path, head: list[str], metric: str, force: bool) -> None:
    from functools import partial

    from inspector.files import write_new
    from inspector.tables.figure import save_figure
    from inspector.tables.layers import layer_figure

    draw = partial(layer_figure, metric=metric)
    write_new(path, lambda tmp: save_figure(table, tmp, head, path.suffix, draw,
                                           "inspector: by layer"), force)  # fmt: skip
    print(f"wrote {path}", file=sys.stderr)
