"""`inspector runs`: the cached runs of a corpus, and which of them the app compares and fits."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from inspector.cli.options import add_corpus_options


def add_arguments(sub: Any) -> None:
    p = sub.add_parser(
        "runs",
        help="the cached runs of a corpus: name, size, tokenizer, window, dtype, when scored",
        description="Every run of the corpus in the cache (under these rules), smallest model "
        "first: its short name (what tells it from the others), parameters, tokenizer (runs of "
        "one letter split the text into the same tokens), window, dtype and when it was scored. "
        "`*` marks the runs the app's compare mode, `s` screen and fits use (chosen with D, "
        "remembered per corpus; by default the runs of one tokenizer).",
    )
    add_corpus_options(p)
    p.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                   help="the cache to list (default: $XDG_CACHE_HOME/inspector or ~/.cache/inspector)")  # fmt: skip
    p.add_argument("--rules", type=Path, default=None, metavar="FILE",
                   help="the task rules the runs were tagged with (default: the shipped rules)")  # fmt: skip
    p.add_argument("--format", default="table", choices=["table", "md", "csv", "json", "jsonl"],
                   help="output format (default: table, with a legend of each run's settings)")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from corpora import bundled_path, read_corpus
    from inspector.cli.options import cache_dir_of
    from inspector.run.runsets import listing
    from inspector.tables.render import render
    from taggers.rules import load_rules

    docs = read_corpus(args.paths or [bundled_path()], text_field=args.text_field,
                       text_column=args.text_column)  # fmt: skip
    table, chosen, found = listing(cache_dir_of(args), docs, load_rules(args.rules).sha256)
    if args.format != "table":
        sys.stdout.write(render(table, args.format))
        return 0
    if table.is_empty():
        print("no run of this corpus is in the cache: score one (inspector score PATH --model M)")
        return 0
    import polars as pl

    from inspector.tables.render import param_count

    shown = (
        table.drop("model")
        .with_columns(  # for people: `*` and 135M
            pl.when(pl.col("chosen")).then(pl.lit("*")).otherwise(pl.lit("")).alias("chosen"),
            pl.col("n_params").map_elements(param_count, return_dtype=pl.String).alias("n_params"),
        )
        .rename({"n_params": "parameters"})
    )
    sys.stdout.write(render(shown, "table"))
    print("\n" + "\n".join(found.legend()))
    if chosen.left_out:
        print(chosen.left_out.replace("; D chooses", "; press D in the app to choose"))
    return 0
