"""`inspector serve`: the app (browse or annotate, with all their options) in a web browser,
one app process per browser tab, on textual-serve (`tui/serving.py`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

APPS = ("browse", "annotate")


def add_arguments(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="the app in a web browser: browse or annotate, several people at once",
        description="Serve the app to web browsers: every tab runs its own app. Give serve's "
        "options, then browse or annotate with theirs (default: browse the bundled samples). The "
        "corpus is scored into the cache first, so each tab opens at once. Annotators open "
        "/?annotator=NAME (or the app asks for a name); their labels go to one --db. There is no "
        "login: it listens on 127.0.0.1 only unless --host says otherwise; from another machine "
        "use an SSH tunnel (ssh -L 8000:127.0.0.1:8000 HOST).",
        usage="inspector serve [--host HOST] [--port PORT] [--public-url URL] [--max-tabs N] "
        "[browse|annotate [OPTIONS]]",
    )
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 is every network)")  # fmt: skip
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    p.add_argument("--public-url", default=None, metavar="URL",
                   help="the address browsers use, when behind a proxy (https://... for wss)")  # fmt: skip
    p.add_argument("--max-tabs", type=_tabs, default=None, metavar="N",
                   help="app processes at once, one per tab, each about 1.2 GB (default: as "
                   "many as 80%% of the memory available now allows)")  # fmt: skip
    p.add_argument("app", nargs=argparse.REMAINDER, metavar="browse|annotate [OPTIONS]",
                   help="the app and its options, as on the command line")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from inspector.cli import build_parser, subparser
    from inspector.cli.browse import prepare
    from inspector.errors import InspectorError, message

    app_args = list(args.app) or ["browse"]
    if app_args[0] not in APPS:
        raise InspectorError(message("serve_app", got=app_args[0]))
    parser = build_parser()
    app, extra = parser.parse_known_args(app_args)  # a bad option fails now, in one line
    if extra:
        (subparser(parser, app_args[0]) or parser).error(
            f"unrecognized arguments: {' '.join(extra)} (serve's own options go before {app_args[0]})"
        )
    if args.public_url is not None:
        _check_url(args.public_url)
    _check_port(args.host, args.port)  # before the scoring, which can take minutes
    prepare(app)  # every input checked, every run in the cache: tabs open without scoring
    from inspector.tui.serving import AppServer

    server = AppServer(app_args, args.host, args.port, args.public_url, args.max_tabs)
    url = server.public_url
    if args.host in ("0.0.0.0", "::") and args.public_url is None:  # every address
        import socket

        url = f"http://{socket.gethostname()}:{args.port}"
        print(f"inspector serve: listening on every address, port {args.port} "
              f"(here: http://127.0.0.1:{args.port})", file=sys.stderr)  # fmt: skip
    print(f"inspector serve: {' '.join(app_args)} at {url}", file=sys.stderr)
    if server.annotating:
        from inspector.labels.place import label_db

        print(f"  each annotator opens {url}/?annotator=NAME; {label_db(app.db).note}",
              file=sys.stderr)  # fmt: skip
    tabs = f"{server.max_tabs} tab{'s' if server.max_tabs != 1 else ''}"
    print(f"  at most {tabs} at once (--max-tabs); no login: anyone who can "
          "reach this address can use the app; Ctrl+C stops", file=sys.stderr)  # fmt: skip
    server.serve()
    return 0


def _tabs(value: str) -> int:
    """--max-tabs: a whole number of tabs, at least 1."""
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 10_000):
        raise argparse.ArgumentTypeError(
            f"give a number of tabs from 1 to 10000, not {value[:40]!r}"
        )
    return int(value)


def _check_url(url: str) -> None:
    from urllib.parse import urlsplit

    from inspector.errors import InspectorError, message

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise InspectorError(message("serve_url", url=url))


def _check_port(host: str, port: int) -> None:
    """Fail in one line now if the address cannot be listened on (in use, not ours)."""
    import socket

    from inspector.errors import InspectorError, message

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself binds
        try:
            s.bind((host, port))
        except (OSError, OverflowError) as e:
            reason = getattr(e, "strerror", None) or str(e)
            raise InspectorError(
                message("serve_listen", host=host, port=port, reason=reason)
            ) from None
