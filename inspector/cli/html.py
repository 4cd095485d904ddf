"""`inspector html`: one self-contained HTML page of chosen documents, to send or publish."""

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
)

FIRST = 20  # documents in the page when none are chosen
MOST_TARGETS = 250_000  # a page holds every target's candidates: 320 bytes each at --top 10


def add_arguments(sub: Any) -> None:
    p = sub.add_parser(
        "html",
        help="one self-contained HTML page of chosen documents: tokens coloured, candidates on hover",
        description="Write one HTML file (no network: no external script, style or font) of the "
        "chosen documents: tokens coloured by loss or rank bucket (a toggle), each token's top "
        "candidates, loss, rank, entropy, task and rule on hover or keyboard focus, the per-task "
        f"table and its chart. Without --doc, the first {FIRST} documents.",
    )
    add_corpus_options(p)
    add_model_options(p)
    p.add_argument("--from", dest="table", default=None, metavar="TABLE",
                   help="a table scored before (a file, or a folder or glob of Parquet parts)")  # fmt: skip
    add_scoring_options(p)
    p.add_argument("--doc", action="append", default=None, metavar="ID",
                   help="a document to include, by id (repeatable)")  # fmt: skip
    p.add_argument("--top", type=at_least(1), default=10, metavar="N",
                   help="candidates shown per token (default: 10)")  # fmt: skip
    p.add_argument("--context", type=_count, default=0, metavar="N",
                   help="also attribute the N highest-loss targets of the page to their context "
                   "(gradient x input; `all`: every target): a click on one colours what its "
                   "prediction leaned on (default: 0, none; about a second per 100 tokens of "
                   "context each on a CPU)")  # fmt: skip
    p.add_argument(
        "--out", type=Path, required=True, metavar="FILE", help="the page to write (.html)"
    )
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import polars as pl

    from corpora.readers import SUFFIXES
    from inspector.errors import ExportError, message
    from inspector.files import check_output, write_new
    from inspector.tables.compare import describe
    from inspector.tables.html import page

    if args.out.suffix.lower() not in (".html", ".htm"):
        raise ExportError(message("html_suffix", path=args.out))
    check_output(args.out, args.force, [*args.paths, args.table, args.rules], sorted(SUFFIXES))
    run, texts = _run(args)
    table = run.frame
    ids = (  # the corpus's order, its empty documents (no targets) included; else the table's
        list(texts)
        if texts is not None
        else table.select(pl.col("doc_id").unique(maintain_order=True))
        .collect()["doc_id"]
        .to_list()
    )
    chosen = args.doc or ids[:FIRST]
    missing = [d for d in chosen if d not in set(ids)]
    if missing:
        raise ExportError(message("html_no_doc", doc=missing[0], count=len(ids)))
    rows = table.filter(pl.col("doc_id").is_in(chosen)).collect()
    if rows.height > MOST_TARGETS:  # a page a browser could not open
        mb = rows.height * (70 + 25 * args.top) / 1e6  # measured: 320 bytes at --top 10
        raise ExportError(message("html_too_big", targets=rows.height, mb=f"{mb:,.0f}",
                                  most=f"{MOST_TARGETS:,}"))  # fmt: skip
    if texts is None:
        from inspector.tables.examples import rebuilt_texts

        texts = rebuilt_texts(rows.lazy(), chosen)
    header = describe([run])
    if not args.doc and len(ids) > FIRST:
        header.append(f"the first {FIRST} of {len(ids):,} documents (--doc chooses)")
    top = min(args.top, run.settings.get("top_k") or args.top)
    if top < args.top:
        print(f"inspector html: --top {args.top}: the run kept {top} candidates per target; the page "
              f"shows {top} (score with --top-k {args.top} for more)", file=sys.stderr)  # fmt: skip
    context = _attributions(args, run, rows) if args.context != 0 else None
    text = page(rows, texts, header, top, docs=chosen, context=context)
    write_new(args.out, lambda tmp: tmp.write_text(text, encoding="utf-8"), args.force)
    print(
        f"wrote {args.out} ({len(text.encode()) / 1e6:.2f} MB, {rows.height:,} tokens)",
        file=sys.stderr,
    )
    return 0


def _count(text: str) -> int | None:
    from inspector.cli.options import at_least

    return None if text == "all" else at_least(0)(text)


def _attributions(args: argparse.Namespace, run: Any, rows: Any) -> Any:
    """The page's targets to attribute, through the run's own model (checked)."""
    from inspector.cli.options import cache_dir_of
    from inspector.cli.progress import TokenProgress
    from inspector.lm.loading import load_model
    from inspector.run.context import page_attributions
    from inspector.run.layers import check_run_model

    lm = load_model(args.model, cache_dir_of(args), args.device, args.dtype)
    check_run_model(lm, run)
    with TokenProgress("attribution", "targets") as progress:
        return page_attributions(lm, rows, args.context, progress=progress)


def _run(args: argparse.Namespace) -> tuple[Any, dict[str, str] | None]:
    if args.table:
        from inspector.run.stored import open_table

        return open_table(args.table), None
    from corpora import bundled_path, read_corpus
    from inspector.cli.options import cache_dir_of, score_config
    from inspector.cli.score import scored
    from taggers.rules import load_rules

    docs = read_corpus(args.paths or [bundled_path()], text_field=args.text_field,
                       text_column=args.text_column)  # fmt: skip
    run = scored(docs, args.model, args.device, args.dtype, score_config(args),
                 load_rules(args.rules), cache_dir_of(args))  # fmt: skip
    return run, {d.id: d.text for d in docs}
