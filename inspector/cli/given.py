"""The runs a command reads: tables given with --from, then each --model's, scored or from
the cache (a --model pattern such as `ckpt/step-*` names every folder it matches)."""

from __future__ import annotations

import argparse
import glob
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from inspector.cli.options import cache_dir_of, score_config
from inspector.cli.score import scored

PATTERN = re.compile(r"[*?\[]")


def expand_models(specs: list[str]) -> list[str]:
    """Each --model as given, except a pattern that is not itself a path: every folder or
    file it matches, in natural order (`step-200` before `step-1000`)."""
    from inspector.errors import ModelError, message

    out: list[str] = []
    for spec in specs:
        if not PATTERN.search(spec) or Path(spec).exists():
            out.append(spec)
            continue
        matches = sorted(glob.glob(spec), key=_natural)
        if not matches:
            raise ModelError(message("model_glob_empty", spec=spec))
        out.extend(matches)
    return out


def _natural(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def runs_of(args: argparse.Namespace) -> list[Any]:
    """The runs asked for, each with people's labels when `--labels` asks for them and as
    word units when `--unit word`."""
    from corpora import bundled_path, read_corpus
    from inspector.run.stored import open_table
    from taggers.rules import load_rules

    runs = [open_table(spec) for spec in args.tables or []]
    models = expand_models(args.model) if args.model is not None else ([] if runs else [""])
    if models:
        rules = load_rules(args.rules)
        docs = read_corpus(
            args.paths or [bundled_path()], text_field=args.text_field, text_column=args.text_column
        )
        cache_dir = cache_dir_of(args)
        # a repeated --dtype or --window: one run of each model per value
        dtypes = args.dtype if isinstance(args.dtype, list) else [args.dtype or "auto"]
        windows = args.window if isinstance(args.window, list) else [args.window]
        for model in models:
            for dtype in dtypes:
                for window in windows:
                    config = score_config(args, window)
                    run = scored(docs, model, args.device, dtype, config, rules, cache_dir)
                    runs.append(replace(run, source=model or "the embedded model"))
    if getattr(args, "labels", "heuristic") != "heuristic":
        from inspector.labels.join import with_human_labels
        from inspector.labels.place import label_db

        where = label_db(args.db)
        if args.db is None:
            print(f"inspector {args.command}: {where.note}", file=sys.stderr)
        runs = with_human_labels(runs, args.labels, where.path)
    return runs


def add_from_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--from",
        dest="tables",
        action="append",
        default=None,
        metavar="TABLE",
        help="an already scored token table: a file, or a folder or glob of Parquet parts (repeatable)",
    )
