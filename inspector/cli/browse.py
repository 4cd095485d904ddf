"""`inspector browse` and `inspector annotate`: the app, browsing or labelling."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from inspector.cli.options import (
    add_corpus_options,
    add_model_options,
    add_scoring_options,
    cache_dir_of,
    score_config,
)  # fmt: skip


def add_arguments(sub: Any) -> None:
    browse = sub.add_parser(
        "browse",
        help="open the app on a corpus: step through it token by token",
        description="Open the terminal app on a corpus (default: the bundled samples). Scoring runs "
        "in the background, the document on screen first; press ? in the app for its keys. With "
        "several --model (or a pattern: ckpt/step-*), the app opens in compare mode once all are "
        "scored; d in the app compares the runs of the corpus already in the cache.",
    )
    add_corpus_options(browse)
    add_model_options(browse, several=True)
    add_scoring_options(browse)
    browse.add_argument(
        "--from",
        dest="table",
        default=None,
        metavar="TABLE",
        help="browse a table scored before (a file, or a folder or glob of Parquet parts), read one document at a time",
    )
    browse.set_defaults(func=run)

    annotate = sub.add_parser(
        "annotate",
        help="open the app in annotation mode: label targets with their task by hand",
        description="Label targets with their task while seeing the model's distribution, loss and the "
        "heuristic tag. Keys: 1-4 (and more for extra labels) label, enter accepts the heuristic, space "
        "skips, u undoes, n adds a note, backspace goes back, a switches to browsing.",
    )
    add_corpus_options(annotate)
    add_model_options(annotate)
    add_scoring_options(annotate, annotate=True)
    annotate.add_argument(
        "--db",
        type=Path,
        default=None,
        metavar="FILE",
        help="the annotation database, created if missing (default: annotations.sqlite in "
        "$XDG_DATA_HOME/inspector or ~/.local/share/inspector; one left in the working folder "
        "by an older inspector is used while it is there)",
    )
    annotate.add_argument(
        "--annotator", default=None, metavar="NAME", help="whose labels these are (default: $USER)"
    )
    annotate.add_argument(
        "--ask-annotator",
        action="store_true",
        help="ask for the annotator's name when the app opens (inspector serve does this for a tab without ?annotator=)",
    )
    annotate.add_argument(
        "--order",
        default="text",
        metavar="ORDER",
        help="text (default), loss (highest first), stratified:N (N per heuristic task), uncertain (least reliable rules first)",
    )
    annotate.set_defaults(func=run_annotate)


def _inputs(args: argparse.Namespace) -> tuple[Any, list[Any], list[str], list[str]]:
    """The rules, the documents, what could not be read and the models (a pattern expanded
    when browsing), with annotation's order and database checked: every mistake fails here,
    in one line, before any app opens (a database is never written by the check)."""
    from corpora import bundled_path
    from corpora.readers import read_for_browsing
    from taggers.rules import load_rules

    rules = load_rules(args.rules)
    docs, problems = read_for_browsing(args.paths or [bundled_path()], args.text_field,
                                       args.text_column)  # fmt: skip
    models = args.model if isinstance(args.model, list) else [args.model or ""]
    if args.command == "annotate":
        from inspector.labels.place import label_db
        from inspector.labels.queue import parse_order
        from inspector.labels.store import Store

        parse_order(args.order)
        # locked, damaged or newer: refused here, untouched
        Store(label_db(args.db, create=True).path).close()
    elif models:
        from inspector.cli.given import expand_models

        models = expand_models(models)
    return rules, docs, problems, models


def run(args: argparse.Namespace, annotate: bool = False) -> int:
    from corpora import bundled_path

    rules, docs, problems, models = _inputs(args)
    config = score_config(args)
    name = "bundled samples" if not args.paths else ", ".join(p.name for p in args.paths)
    from inspector.tui.app import InspectorApp

    options = None
    if annotate:
        import getpass

        from inspector.labels.place import label_db
        from inspector.tui.annotating import AnnotateOptions

        # where the labels go, still on the terminal once the app has closed
        print(f"inspector annotate: {label_db(args.db).note}", file=sys.stderr)

        options = AnnotateOptions(
            args.db,
            "" if args.ask_annotator else args.annotator or getpass.getuser() or "anonymous",
            args.order,
            ", ".join(str(p.resolve()) for p in (args.paths or [bundled_path()])),
        )
    from inspector.tui.source import OnDisk, Scoring, Source

    table = getattr(args, "table", None)
    source: Source = (
        OnDisk(docs, config, rules, path=table)
        if table
        else Scoring(docs, config, rules, models[0], args.device, args.dtype, tuple(models[1:]))
    )
    app = InspectorApp(source, name, cache_dir_of(args), problems=problems, annotate=options)
    app.run()
    return app.return_code or 0  # a crash in the app is never a success


def run_annotate(args: argparse.Namespace) -> int:
    return run(args, annotate=True)


def prepare(args: argparse.Namespace) -> None:
    """Everything the app will need, checked and ready before `inspector serve` opens it in
    browser tabs: the corpus read, the rules, the order and the annotation database checked,
    and each run in the cache (scored now, with progress, if it was not), so every tab opens
    from the cache instead of scoring the corpus again."""
    rules, docs, _, models = _inputs(args)
    if getattr(args, "table", None):
        from inspector.run.stored import open_table

        open_table(args.table)
        return
    from inspector.cli.score import scored

    for model in models:
        scored(docs, model, args.device, args.dtype, score_config(args), rules, cache_dir_of(args))
