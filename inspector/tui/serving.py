"""The app in a web browser: textual-serve runs one `inspector browse` (or `annotate`)
process per browser tab and relays its screen over a websocket.

What inspector adds to textual-serve's server: its own page (the library's loads a font
from the network; this one works offline), the annotator's name from the URL
(`/?annotator=NAME`, passed to that tab's process as `--annotator`, else the app asks),
and a check of every request's Host and Origin, since the server has no login: a page on
another site open in the same browser, or a DNS name rebound to this machine, must not
drive the app (the app writes files: annotations, texts saved with M).
"""

from __future__ import annotations

import ipaddress
import shlex
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from inspector.labels.columns import ANNOTATOR_NAME as NAME

TEMPLATES = Path(__file__).resolve().parent / "templates"
LOOPBACK = {"localhost", "127.0.0.1", "::1"}
WILDCARD = {"0.0.0.0", "::", ""}


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
        self, app_args: list[str], host: str, port: int, public_url: str | None = None
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
        return shlex.join(args)

    def initialize_logging(self) -> None:
        """Problems only, one plain line each (the library logs every request in colour)."""
        import logging

        logging.basicConfig(level=logging.WARNING, format="inspector serve: %(message)s")

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

    @aiohttp_jinja2.template("index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        name = _annotator(request.query.get("annotator", ""))
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
        width = _size(request.query.get("width"), 80)
        height = _size(request.query.get("height"), 24)
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        service = AppService(
            self.command_for(name),
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,  # type: ignore[arg-type]  # as textual-serve passes it
            download_manager=self.download_manager,
            debug=self.debug,
        )
        try:
            await service.start(width, height)
            await self._process_messages(websocket, service)
        finally:
            await service.stop()
        return websocket


def _annotator(name: str) -> str:
    """An annotator's name from a request ('' for none), or 400 saying what is allowed."""
    try:
        return check_name(name) if name else ""
    except BadRequest as e:
        raise web.HTTPBadRequest(text=f"inspector serve: {e}\n") from None


def _size(value: str | None, default: int, low: int = 10, high: int = 1000) -> int:
    """A size from the query (ASCII digits only), kept within `low`..`high`."""
    ok = value is not None and value.isascii() and value.isdigit()
    return min(max(int(value), low), high) if ok and value else default
