"""`inspector context`: per task, how far back the context each prediction leans on lies."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from inspector.cli.layers import check_outputs, head_lines, stored_run
from inspector.cli.options import (
    add_corpus_options,
    add_model_options,
    add_scoring_options,
    at_least,
)  # fmt: skip

DEFAULT_SAMPLE = 200


def _sample(text: str) -> int | None:
    return None if text == "all" else at_least(1)(text)


def add_arguments(sub: Any) -> None:
    p = sub.add_parser(
        "context",
        help="per task, how far back the context a prediction leans on lies (attribution)",
        description="Attribute each sampled target's log-probability to the tokens of its "
        "context (gradient x input, or occlusion: the change in loss when a token is removed) "
        "and say per task how far back the mass lies: the median distance within which half "
        "of it lies, and the share within 1, 4, 16 and 64 tokens.",
    )
    add_corpus_options(p)
    add_model_options(p)
    p.add_argument("--from", dest="table", default=None, metavar="TABLE",
                   help="a table scored before by --model (a file, or a folder or glob of Parquet parts)")  # fmt: skip
    add_scoring_options(p)
    p.add_argument("--method", default="gradient", choices=["gradient", "occlusion"],
                   help="gradient x input (one backward pass per target; default) or occlusion "
                   "(exact: one forward pass per token of context, far slower)")  # fmt: skip
    p.add_argument("--sample", type=_sample, default=DEFAULT_SAMPLE, metavar="N",
                   help=f"read at most N targets, drawn uniformly (default: {DEFAULT_SAMPLE:,}; "
                   "`all` for every one)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="the sample's seed (default: 0)")
    p.add_argument("--format", default=None, choices=["table", "md", "csv", "json", "jsonl", "parquet"],
                   help="output format (default: from --out's extension, else a table); md, csv, "
                   "json, jsonl and parquet carry the run's settings on every row")  # fmt: skip
    p.add_argument("--out", type=Path, default=None, metavar="FILE", help="write here instead")
    p.add_argument("--force", action="store_true", help="replace --out or --plot FILE if it exists")
    p.add_argument("--plot", nargs="?", const="", default=None, metavar="FILE",
                   help="also draw the share within d tokens per task: in the terminal, or as an "
                   "image FILE (.svg or .png)")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from inspector.cli.options import cache_dir_of, out_format
    from inspector.cli.progress import TokenProgress
    from inspector.lm.loading import load_model
    from inspector.run.context import run_context

    by_suffix = {".csv": "csv", ".jsonl": "jsonl", ".json": "json", ".md": "md",
                 ".parquet": "parquet"}  # fmt: skip
    fmt = out_format(args.out, args.format, by_suffix, "table")
    figure = Path(args.plot) if args.plot else None
    check_outputs(args, figure, fmt)
    stored = stored_run(args)  # the corpus or table read (and scored) before the model loads
    lm = load_model(args.model, cache_dir_of(args), args.device, args.dtype)
    with TokenProgress("attribution", "targets") as progress:
        table = run_context(lm, stored, args.sample, args.seed, args.method, progress)
    how = ("by gradient x input" if args.method == "gradient" else "by occlusion") + (
        " · mass: |attribution| by tokens back (1: the token before the target), the input's "
        "first token left out"
    )
    head = head_lines(stored, table, how)
    from inspector import visible
    from inspector.files import write_new
    from inspector.run.layers import RUN_COLUMNS
    from inspector.tables.render import render, write

    if fmt == "table":
        shown = table.drop("method", *RUN_COLUMNS)
        text = "\n".join(visible.line(line) for line in head) + "\n\n" + render(shown, "table")
        if args.out is None:
            sys.stdout.write(text)
        else:
            write_new(args.out, lambda tmp: tmp.write_text(text), args.force)
    else:
        body = write(table, fmt, args.out, args.force)
        if body is not None:
            sys.stdout.write(body)
    if args.out is not None:
        print(f"wrote {args.out}", file=sys.stderr)
    if figure is not None:
        from inspector.tables.context import context_figure
        from inspector.tables.figure import save_figure

        write_new(figure, lambda tmp: save_figure(table, tmp, head, figure.suffix, context_figure,
                                                  "inspector: context by task"), args.force)  # fmt: skip
        print(f"wrote {figure}", file=sys.stderr)
    elif args.plot is not None:
        import shutil

        from inspector.cli.options import print_chart
        from inspector.tables.context import plot_context

        print_chart(plot_context(table, shutil.get_terminal_size().columns, 20))
    return 0
