"""`inspector agreement`: the heuristic tags against people, and people against each other."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_arguments(sub: Any) -> None:
    agree = sub.add_parser(
        "agreement", help="how the heuristic tags agree with people, and people with each other"
    )
    agree.add_argument("--db", type=Path, default=None, metavar="FILE",
                       help="the annotation database (default: where inspector annotate keeps labels)")  # fmt: skip
    agree.add_argument(
        "--annotator",
        action="append",
        default=None,
        metavar="NAME",
        help="one: heuristics against this person; two: these two people (default: all)",
    )
    agree.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from inspector.labels.agreement import agreements
    from inspector.labels.place import label_db
    from inspector.labels.store import Store

    where = label_db(args.db)
    if args.db is None:
        print(f"inspector agreement: {where.note}", file=sys.stderr)
    with Store(where.path, readonly=True) as store:
        table = store.table()
    print("\n\n".join(a.render() for a in agreements(table, args.annotator or (), str(where.path))))
    return 0
