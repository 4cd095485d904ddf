"""`inspector examples`: the highest-loss targets of a task, as keyword-in-context lines."""

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


def add_arguments(sub: Any) -> None:
    p = sub.add_parser(
        "examples",
        help="the highest-loss targets of a task, in context: from a per-task number to its examples",
        description="The targets with the highest loss (of --task, at least --min-loss nats), "
        "highest first, each with the text around it, its loss, rank and the rule that decided "
        "its task.",
    )
    add_corpus_options(p)
    add_model_options(p)
    p.add_argument("--from", dest="table", default=None, metavar="TABLE",
                   help="a table scored before (a file, or a folder or glob of Parquet parts)")  # fmt: skip
    add_scoring_options(p)
    p.add_argument("--task", dest="task_filter", action="append", default=None, metavar="T",
                   help="only targets of this task (repeatable; default: every task)")  # fmt: skip
    p.add_argument(
        "--top", type=at_least(1), default=20, metavar="N", help="how many (default: 20)"
    )
    p.add_argument("--min-loss", type=float, default=None, metavar="NATS",
                   help="only targets with at least this loss")  # fmt: skip
    p.add_argument("--format", default=None, choices=["table", "md", "csv", "json", "jsonl"],
                   help="output format (default: from --out's extension, else lines in context)")  # fmt: skip
    p.add_argument("--out", type=Path, default=None, metavar="FILE", help="write here instead")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from inspector.cli.options import out_format
    from inspector.tables.examples import examples
    from inspector.tables.render import render, write

    by_suffix = {".csv": "csv", ".jsonl": "jsonl", ".json": "json", ".md": "md"}
    fmt = out_format(args.out, args.format, by_suffix, "table")
    if args.out is not None:
        from corpora.readers import SUFFIXES
        from inspector.files import check_output

        check_output(args.out, args.force, [*args.paths, args.table, args.rules], sorted(SUFFIXES))
    frame, texts = _rows(args)
    table = examples(frame, args.task_filter, args.top, args.min_loss, texts)
    text = _lines(table) if fmt == "table" else None
    if args.out is None:
        sys.stdout.write(text if text is not None else render(table, fmt))
    else:
        write(table, fmt, args.out, args.force)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _rows(args: argparse.Namespace) -> tuple[Any, dict[str, str] | None]:
    """The token table asked for, and the documents' texts where the corpus was read."""
    if args.table:
        from inspector.run.stored import open_table

        return open_table(args.table).frame, None
    from corpora import bundled_path, read_corpus
    from inspector.cli.options import cache_dir_of, score_config
    from inspector.cli.score import scored
    from taggers.rules import load_rules

    docs = read_corpus(args.paths or [bundled_path()], text_field=args.text_field,
                       text_column=args.text_column)  # fmt: skip
    run = scored(docs, args.model, args.device, args.dtype, score_config(args),
                 load_rules(args.rules), cache_dir_of(args))  # fmt: skip
    return run.frame, {d.id: d.text for d in docs}


def _lines(table: Any) -> str:
    """Keyword-in-context lines: the target in brackets, the text around it aligned."""
    from inspector import visible

    def flat(text: str) -> str:
        return visible.line(text.replace("\n", "↵"))

    out = []
    for r in table.iter_rows(named=True):
        out.append(
            f"{flat(r['left']):>40} [{flat(r['target'])}] {flat(r['right']):<40}  "
            f"{r['nll']:5.2f} nats  rank {r['rank']:>6,}  {r['task']} ({r['task_reason']})  "
            f"{flat(r['doc_id'])}:{r['pos']}"
        )
    return "\n".join(out) + "\n" if out else "no targets match\n"
