"""The app in a web browser: textual-serve runs one `inspector browse` (or `annotate`)
process per browser tab and relays its screen over a websocket.

What inspector adds to textual-serve's server: its own page (the library's loads a font
from the network; this one works offline), the annotator's name from the URL
(`/?annotator=NAME`, passed to that tab's process as `--annotator`, else the app asks),
and a check of every request's Host and Origin, since the server has no login: a page on
another site open in the same browser, or a DNS name rebound to this machine, must not
drive the app (the app writes files: annotations, texts saved with M).

Each tab's process holds a model (about SERVE_TAB_MB), so at most `max_tabs` run at once (by
default as many as 80% of the memory available at start allows); past that the page and the
websocket answer 503 with what to do. A tab's process ends when its socket closes, or stops
answering the heartbeat; one that does not quit when told is killed. Frames the page would
never send (not a JSON list, a size that is not a number) are ignored, not a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import shlex
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp_jinja2
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from inspector.defaults import SERVE_TAB_MB
from inspector.labels.columns import ANNOTATOR_NAME as NAME

TEMPLATES = Path(__file__).resolve().parent / "templates"
LOOPBACK = {"localhost", "127.0.0.1", "::1"}
WILDCARD = {"0.0.0.0", "::", ""}
QUIT_S = 5  # seconds a tab's app has to quit once its socket is gone (twice), then it is killed
FRAME_BYTES = 1 << 20  # the largest websocket frame read from a page (a big paste fits)


class BadRequest(ValueError):
    """A request this server refuses (a name or a host it does not accept)."""


def check_name(name: str) -> str:
    """An annotator's name as given in a URL, or BadRequest saying what is allowed."""
    if not NAME.fullmatch(name):
        raise BadRequest(
            "an annotator's name is 1-64 letters, digits or . @ + - _ (no spaces, not "
            "starting with -): "
            f"{name[:70]!r} is not"
        )
    return name


def default_max_tabs(meminfo: Path = Path("/proc/meminfo")) -> int:
    """Tabs at once by default: 80% of the memory available now over SERVE_TAB_MB, at least
    1 (without /proc/meminfo, half the machine's memory)."""
    try:
        fields = dict(
            line.split(":", 1) for line in meminfo.read_text().splitlines() if ":" in line
        )
        available = int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    return max(1, int(0.8 * available / (SERVE_TAB_MB * 1_000_000)))


def _host_only(authority: str) -> str:
    """The host of a `host:port` (IPv6 in brackets), lower case."""
    host = urlsplit(f"//{authority}").hostname
    return (host or "").lower()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class AppServer(Server):
    """textual-serve's server, for `inspector <app_args>` in each browser tab."""

    def __init__(
        self,
        app_args: list[str],
        host: str,
        port: int,
        public_url: str | None = None,
        max_tabs: int | None = None,
    ) -> None:
        title = "inspector " + " ".join(app_args[:1])
        super().__init__(
            "", host=host, port=port, title=title, public_url=public_url,
            templates_path=TEMPLATES,
        )  # fmt: skip
        self.app_args = app_args
        self.annotating = bool(app_args) and app_args[0] == "annotate"
        self.named = "--annotator" in app_args or any(
            a.startswith("--annotator=") for a in app_args
        )
        self.hosts = self._allowed_hosts(host, public_url)
        self.behind_proxy = urlsplit(public_url).netloc if public_url else ""  # the browser's host
        self.max_tabs = max_tabs or default_max_tabs()
        self.tabs = 0  # app processes running now
        self.endings: set[asyncio.Task[None]] = set()  # tabs being ended (kept till done)

    @staticmethod
    def _allowed_hosts(host: str, public_url: str | None) -> set[str]:
        """Host names a browser may use to reach this server: loopback, the bound address,
        this machine's names when bound to every address, and the public URL's host."""
        hosts = set(LOOPBACK) | {host.lower().strip("[]")}
        if host in WILDCARD:
            name = socket.gethostname().lower()
            hosts |= {name, socket.getfqdn(name).lower()}
        if public_url:
            hosts.add((urlsplit(public_url).hostname or "").lower())
        return hosts - WILDCARD

    def check_request(self, request: web.Request) -> None:
        """Refuse a Host header this server does not answer to (DNS rebinding: a name that
        resolves to this machine but is not its own), and a websocket opened by a page of
        another origin (a site in the same browser). IP addresses are accepted when bound to
        every address: a rebinding attack needs a name."""
        host = _host_only(request.host)
        wildcard = self.host in WILDCARD
        if host not in self.hosts and not (wildcard and _is_ip(host)):
            raise web.HTTPForbidden(text=f"inspector serve: not served to host {host!r}\n")
        origin = request.headers.get("Origin")
        ours = {request.host.lower(), self.behind_proxy.lower()} - {""}  # a proxy may rewrite Host
        if origin is not None and urlsplit(origin).netloc.lower() not in ours:
            raise web.HTTPForbidden(text="inspector serve: a page of another origin\n")

    def command_for(self, name: str) -> str:
        """The shell command of one tab's process (every argument quoted)."""
        args = [sys.executable, "-m", "inspector", *self.app_args]
        if self.annotating:
            if name:
                args.append(f"--annotator={name}")  # the last --annotator wins
            elif not self.named:
                args.append("--ask-annotator")
        return "exec " + shlex.join(args)  # the shell becomes the app: killing it ends the app

    def initialize_logging(self) -> None:
        """Problems only, one plain line each (the library logs every request in colour)."""
        import logging

        logging.basicConfig(level=logging.WARNING, format="inspector serve: %(message)s")
        for handler in logging.getLogger().handlers:
            handler.addFilter(_one_line)

    async def on_startup(self, app: web.Application) -> None:
        """Nothing printed: `inspector serve` says where it listens (the library prints a logo)."""

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._checked)
        app.router.add_get("/ws/{annotator}", self.handle_websocket, name="websocket_named")
        return app

    @web.middleware
    async def _checked(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Every route (the page, the websocket, the static files, downloads) checked."""
        self.check_request(request)
        return await handler(request)

    def check_room(self) -> None:
        """503 when `max_tabs` tabs are running: each more would hold another model."""
        if self.tabs >= self.max_tabs:
            raise web.HTTPServiceUnavailable(
                text=f"inspector serve: {_all_tabs(self.max_tabs)} in use (each runs its own "
                f"app, about {SERVE_TAB_MB / 1000:g} GB); close one and reload this page, or "
                "restart serve with a larger --max-tabs\n"
            )

    @aiohttp_jinja2.template("index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        name = _annotator(request.query.get("annotator", ""))
        self.check_room()
        scheme = "wss" if request.secure or self.public_url.startswith("https") else "ws"
        path = f"/ws/{quote(name, safe='')}" if name else "/ws"
        size = request.query.get("fontsize", "16")
        return {
            "title": self.title + (f" ({name})" if name else ""),
            "websocket_url": f"{scheme}://{self.behind_proxy or request.host}{path}",
            "font_size": _size(size, 16, 8, 40),
        }

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        name = _annotator(request.match_info.get("annotator", ""))
        self.check_room()
        width = _size(request.query.get("width"), 80)
        height = _size(request.query.get("height"), 24)
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=FRAME_BYTES)
        await websocket.prepare(request)
        service = AppService(
            self.command_for(name),
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,  # type: ignore[arg-type]  # as textual-serve passes it
            download_manager=self.download_manager,
            debug=self.debug,
        )
        self.tabs += 1
        try:
            await service.start(width, height)
            await self._process_messages(websocket, service)
        finally:  # aiohttp cancels this handler when the socket drops: end the app in a task
            ending = asyncio.create_task(_end(service))
            self.endings.add(ending)
            ending.add_done_callback(self._ended)
            await asyncio.shield(ending)
        return websocket

    def _ended(self, ending: asyncio.Task[None]) -> None:
        self.endings.discard(ending)
        self.tabs -= 1

    async def _process_messages(
        self, websocket: web.WebSocketResponse, service: AppService
    ) -> None:
        """The page's frames to the app: keys, sizes, focus; anything else is ignored."""
        async for frame in websocket:
            if frame.type != WSMsgType.TEXT or (envelope := _envelope(frame.data)) is None:
                continue
            kind, data = envelope
            if kind == "stdin" and isinstance(data, str):
                await service.send_bytes(data.encode("utf-8", "replace"))  # a lone surrogate: ?
            elif kind == "resize" and isinstance(data, dict):
                width = _size(data.get("width"), 80)
                await service.set_terminal_size(width, _size(data.get("height"), 24))
            elif kind == "ping" and isinstance(data, (str, int, float)):
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await service.blur()
            elif kind == "focus":
                await service.focus()


def _all_tabs(n: int) -> str:
    return f"all {n} tabs are" if n > 1 else "the one tab allowed is"


def _envelope(text: str) -> tuple[str, Any] | None:
    """(kind, data) of a frame `["kind", data]`, or None for anything else."""
    try:
        envelope = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(envelope, list) or not envelope or not isinstance(envelope[0], str):
        return None
    return envelope[0], envelope[1] if len(envelope) > 1 else None


async def _end(service: AppService) -> None:
    """Tell a tab's app to quit, and kill it if it has not within 2 x QUIT_S seconds (a
    process stuck loading a model must not outlive its tab). Labels are saved as they are
    made. textual-serve's `stop` returns when cancelled, so the process itself is checked."""
    process = service._process  # textual-serve keeps it private; nothing else ends it
    try:
        await asyncio.wait_for(service.stop(), QUIT_S)
        if process is not None:
            await asyncio.wait_for(process.wait(), QUIT_S)
    except (TimeoutError, asyncio.CancelledError):  # cancelled: the server is shutting down
        pass
    if process is not None and process.returncode is None:
        process.kill()  # at once: every label is saved as it is made
        with contextlib.suppress(asyncio.CancelledError):
            await process.wait()


def _one_line(record: Any) -> bool:
    """A logged error as one line: a bad request (a header too long, a broken frame) makes
    aiohttp log a traceback, which would fill the terminal of whoever runs serve."""
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        reason = (str(error).splitlines() or [""])[0][:200]
        record.msg, record.args = f"{record.getMessage()}: {type(error).__name__} {reason}", ()
        record.exc_info = record.exc_text = None
    return True


def _annotator(name: str) -> str:
    """An annotator's name from a request ('' for none), or 400 saying what is allowed."""
    try:
        return check_name(name) if name else ""
    except BadRequest as e:
        raise web.HTTPBadRequest(text=f"inspector serve: {e}\n") from None


def _size(value: Any, default: int, low: int = 10, high: int = 1000) -> int:
    """A size from the query (ASCII digits) or a frame (a number), kept within `low`..`high`;
    anything else is `default`."""
    if isinstance(value, str):
        if not (value and value.isascii() and value.isdigit()):
            return default
        value = int(value) if len(value) <= 7 else high  # no 5,000-digit int
    elif isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return default
    return int(min(max(value, low), high))
