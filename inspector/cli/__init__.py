"""The `inspector` command line: one module per command, each with `add_arguments` (its
parser, `set_defaults(func=run)`) and `run(args)`. Imports only the standard library at
start-up: every command imports what it needs when it runs, so `inspector --help` is
instant. User errors are caught here, and only here: one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from inspector.cli import (
    agreement,
    bench,
    browse,
    compare,
    context,
    examples,
    exchange,
    html,
    layers,
    probe,
    runs,
    score,
    serve,
    tasks,
)
from inspector.cli.bench import SHAPES  # noqa: F401  (the --shape choices, for tests)

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse with the one-line error every other mistake gets (no usage block)."""

    def error(self, message: str) -> Any:  # argparse's own signature returns NoReturn
        print(f"inspector: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="inspector",
        description="Look at what a language model predicts, one next token at a time. "
        "With no command: open the app on the bundled corpus with the embedded model.",
    )
    from inspector import __version__

    parser.add_argument("--version", action="version", version=f"inspector {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in (
        score,
        browse,
        tasks,
        examples,
        compare,
        runs,
        layers,
        context,
        probe,
        html,
        serve,
        exchange,
        agreement,
        bench,
    ):
        command.add_arguments(sub)
    return parser


def subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser | None:
    """The parser of one command (its errors name the command and its --help)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser | None = action.choices.get(command)
            return found
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    given = list(sys.argv[1:] if argv is None else argv)
    args, extra = parser.parse_known_args(given or ["browse"])  # no command: the app
    if extra:  # named by the command they were given to, with its --help
        sub = subparser(parser, args.command) if args.command else None
        hint = " (the app's options go after browse or annotate)" if args.command == "serve" else ""
        (sub or parser).error(f"unrecognized arguments: {' '.join(extra)}{hint}")
    if args.command is None:  # options but no command
        parser.error(
            "give a command (score, browse, tasks, examples, compare, runs, layers, context, probe, probes, html, serve, annotate, annotations, agreement, bench)"
        )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from inspector.cli.stderr import show_library_messages
    from inspector.run.errors import USER_ERRORS

    show_library_messages()
    try:
        run: Any = args.func
        return int(run(args))
    except USER_ERRORS as e:
        from inspector import visible

        print(f"inspector: error: {visible.line(e)}", file=sys.stderr)  # one line, nothing raw
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("inspector: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
