"""`inspector annotations export|import`: labels out of and into an annotation database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DB_HELP = "the annotation database (default: where inspector annotate keeps labels)"


def add_arguments(sub: Any) -> None:
    notes = sub.add_parser(
        "annotations", help="export or import the labels of an annotation database"
    )
    notes_sub = notes.add_subparsers(dest="annotations_command", metavar="ACTION", required=True)
    export = notes_sub.add_parser(
        "export", help="write every label (with character offsets) as jsonl, csv or parquet"
    )
    export.add_argument("--db", type=Path, default=None, metavar="FILE", help=DB_HELP)
    export.add_argument(
        "--format",
        default="jsonl",
        choices=["jsonl", "csv", "parquet"],
        help="jsonl (default): one document per line with its labelled spans",
    )
    export.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="write here (default: standard output)",
    )
    export.add_argument("--force", action="store_true", help="replace --out if it exists")
    imp = notes_sub.add_parser(
        "import", help="add the labels of an export file to a database (none twice)"
    )
    imp.add_argument("file", type=Path, metavar="FILE", help="a .jsonl, .csv or .parquet export")
    imp.add_argument("--db", type=Path, default=None, metavar="FILE",
                     help=DB_HELP + ", created if missing")  # fmt: skip
    notes.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from inspector.labels.exchange import export_labels, read_export
    from inspector.labels.place import label_db
    from inspector.labels.store import Store

    where = label_db(args.db, create=args.annotations_command == "import")
    if args.db is None:  # which file, and why, said once (the labels are on stdout)
        print(f"inspector annotations: {where.note}", file=sys.stderr)
    args.db = where.path
    if args.annotations_command == "export":
        if args.out is not None:
            from inspector.files import check_new_file, refuse_overwriting_inputs

            check_new_file(args.out, args.force)
            refuse_overwriting_inputs(args.out, [args.db])
        with Store(args.db, readonly=True) as store:
            text = export_labels(store.table(live_only=False), args.format, args.out, args.force)
        if text is not None:
            sys.stdout.write(text)
        else:
            print(f"wrote {args.out}", file=sys.stderr)
        return 0
    rows = read_export(args.file)
    with Store(args.db) as store:
        added = store.import_rows(rows)
    print(
        f"imported {added} of {rows.height} labels into {args.db} ({rows.height - added} were there already)"
    )
    return 0
