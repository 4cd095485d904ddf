"""`inspector serve` against a careful attacker and a clumsy user (on 127.0.0.1): more tabs
than memory holds, tabs whose socket goes away, frames the page never sends, traversal on the
static route, huge headers, bad query values. Tabs run a stand-in for the app here (a shell
that records what the server writes to it), so these tests need no model."""

from __future__ import annotations

import asyncio
import json
import os
import struct
from pathlib import Path

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient, TestServer

from inspector.tui import serving
from inspector.tui.serving import AppServer, default_max_tabs


class StandIn(AppServer):
    """A server whose tabs run `sh`: it writes its pid, then copies what it is sent to a file
    (or, `deaf`, ignores it and sleeps: an app that will not quit)."""

    def __init__(self, folder: Path, deaf: bool = False, max_tabs: int = 2) -> None:
        super().__init__(["browse"], "127.0.0.1", 8000, max_tabs=max_tabs)
        self.folder, self.deaf, self.started = folder, deaf, 0

    def command_for(self, name: str) -> str:
        self.started += 1
        tab = self.folder / f"tab{self.started}"
        body = "exec sleep 60" if self.deaf else f"exec cat > {tab}.in"
        return f"exec sh -c 'echo $$ > {tab}.pid; {body}'"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # it may end between the two looks
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False


async def _pid(folder: Path, tab: int) -> int:
    for _ in range(100):
        file = folder / f"tab{tab}.pid"
        if file.exists() and file.read_text().strip():
            return int(file.read_text())
        await asyncio.sleep(0.05)
    raise AssertionError(f"tab {tab} did not start")


def _packets(data: bytes) -> list[dict[str, object]]:
    """The meta packets (b"M", length, JSON) textual-serve wrote to a tab's stdin."""
    found, at = [], 0
    while at + 5 <= len(data):
        kind, size = data[at : at + 1], struct.unpack(">I", data[at + 1 : at + 5])[0]
        if kind == b"M":
            found.append(json.loads(data[at + 5 : at + 5 + size]))
        at += 5 + size
    return found


async def test_tabs_past_the_limit_are_refused_and_a_closed_tab_frees_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serving, "QUIT_S", 1)
    server = StandIn(tmp_path, deaf=True, max_tabs=2)
    async with TestClient(TestServer(await server._make_app())) as client:
        one = await client.ws_connect("/ws")
        two = await client.ws_connect("/ws")
        pids = [await _pid(tmp_path, 1), await _pid(tmp_path, 2)]
        with pytest.raises(WSServerHandshakeError) as refused:  # a third: past the limit
            await client.ws_connect("/ws")
        assert refused.value.status == 503
        page = await client.get("/")
        assert page.status == 503 and "all 2 tabs are in use" in await page.text()
        assert "--max-tabs" in await page.text() and server.started == 2
        await one.close()  # the app will not quit: it is killed after QUIT_S
        for _ in range(600):
            if not _alive(pids[0]) and server.tabs == 1:
                break
            await asyncio.sleep(0.05)
        assert not _alive(pids[0]) and _alive(pids[1]) and server.tabs == 1
        assert (await client.get("/")).status == 200  # room again
        await two.close()
    assert default_max_tabs() >= 1
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 24000000 kB\nMemAvailable:   12000000 kB\n")
    assert default_max_tabs(meminfo) == int(0.8 * 12_000_000 * 1024 / 1.2e9)  # 8
    meminfo.write_text("MemAvailable: 100 kB\n")
    assert default_max_tabs(meminfo) == 1


async def test_frames_the_page_never_sends_are_ignored_and_sizes_kept_in_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the stand-in does not quit when told: killed after QUIT_S, which leaves `cat` time to
    # copy every packet even while the suite's other worker keeps both cores busy (4 s lost
    # the last resize twice in a full run here; `cat` ends sooner when its input closes)
    monkeypatch.setattr(serving, "QUIT_S", 10)
    server = StandIn(tmp_path)
    async with TestClient(TestServer(await server._make_app())) as client:
        ws = await client.ws_connect("/ws?width=99999999999999999999&height=-3")
        pid = await _pid(tmp_path, 1)
        for frame in (
            "not json", "{}", "[]", "[1]", "null", '"stdin"', "[" * 100_000 + "]" * 100_000,
            '["stdin", 5]', '["stdin"]', '["resize", "big"]', '["resize", {"width": "x"}]',
            '["resize", {"width": 1e300, "height": -5}]', '["ping", {"a": 1}]',
            '["stdin", "\\ud800x"]', '["nope", 1]',
        ):  # fmt: skip
            await ws.send_str(frame)
        await ws.send_bytes(b"\xff\x00binary")
        await ws.send_str('["ping", "still here"]')
        reply = await asyncio.wait_for(ws.receive_json(), 10)
        assert reply == ["pong", "still here"]  # the tab survived every frame above
        await ws.close()
    for _ in range(600):  # QUIT_S, with room for a loaded machine
        if not _alive(pid):
            break
        await asyncio.sleep(0.05)
    assert not _alive(pid)
    sent = (tmp_path / "tab1.in").read_bytes()
    metas = _packets(sent)
    resizes = [m for m in metas if m.get("type") == "resize"]
    assert resizes == [
        {"type": "resize", "width": 80, "height": 24},  # "x" and nothing: no size, the defaults
        {"type": "resize", "width": 1000, "height": 10},  # numbers kept within 10..1000
    ]
    assert {"type": "quit"} in metas  # told to quit when its socket closed
    assert b"?x" in sent  # the lone surrogate as ?, the rest of the keys kept


async def _raw(port: int, request: bytes) -> tuple[int, bytes]:
    """Send `request` as it is (no client normalising the path); the status and the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(1 << 20), 10)
    writer.close()
    status = int(data.split(b" ", 2)[1])
    return status, data.partition(b"\r\n\r\n")[2]


async def test_static_files_headers_and_query_values(tmp_path: Path) -> None:
    server = StandIn(tmp_path)
    async with TestClient(TestServer(await server._make_app())) as client:
        port = client.port
        assert port is not None
        for path in (
            "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
            "/static/..%2f..%2f..%2f..%2fetc%2fpasswd", "/static/%252e%252e/etc/passwd",
            "/static/..\\..\\..\\etc\\passwd", "/static//etc/passwd", "/static/%00",
        ):  # fmt: skip
            status, body = await _raw(
                port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
            )
            assert status in (400, 403, 404), (path, status)
            assert b"root:" not in body
        huge = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
        assert (await _raw(port, huge))[0] == 400  # aiohttp's limit: no page, no tab
        long_url = f"GET /?annotator={'a' * 10_000} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        assert (await _raw(port, long_url.encode()))[0] == 400
        for name in ("a" * 5_000, "ana\x1b[31m", "ana\r\nSet-Cookie: x=1", "\u202eana"):
            page = await client.get("/", params={"annotator": name})
            assert page.status == 400 and "an annotator's name is 1-64" in await page.text()
            assert "Set-Cookie" not in page.headers
        for size in ("9" * 5_000, "\x00", "-5", "1e3", "٣"):  # all ignored or kept in range
            page = await client.get("/", params={"fontsize": size})
            assert page.status == 200
        evil = await client.get("/", headers={"Host": "attacker.example"})
        assert evil.status == 403
        with pytest.raises(WSServerHandshakeError) as other:
            await client.ws_connect("/ws", headers={"Origin": "http://attacker.example"})
        assert other.value.status == 403
    assert server.started == 0  # no refused request started a tab


CHILD = """
import sys, time
from inspector.tui.orphans import end_with_server
class App:
    def call_from_thread(self, f): f()
    def exit(self): print("asked to exit", flush=True)
end_with_server(App())
print("ready", flush=True)
time.sleep(60)
"""
PARENT = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], env={**os.environ,
    "TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver"}, stdout=open(sys.argv[2], "w"))
print(child.pid, flush=True)
time.sleep(60)
"""


def test_a_tabs_app_ends_when_its_server_is_killed(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    log = tmp_path / "child.log"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD, str(log)], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    while "ready" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.1)
    parent.send_signal(signal.SIGKILL)  # as an out-of-memory kill ends a server
    parent.wait()
    for _ in range(300):
        if not _alive(child):
            break
        time.sleep(0.1)
    assert not _alive(child), "the tab's app outlived its server"
    assert "asked to exit" in log.read_text()


def test_a_bad_request_is_logged_in_one_line() -> None:
    import logging

    try:
        raise ValueError("Got more than 8190 bytes when reading\nsecond line")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "aiohttp.server", logging.ERROR, __file__, 1, "Error handling request from %s",
            ("127.0.0.1",), sys.exc_info(),
        )  # fmt: skip
    assert serving._one_line(record)
    line = logging.Formatter("inspector serve: %(message)s").format(record)
    assert line == (
        "inspector serve: Error handling request from 127.0.0.1: ValueError Got more than 8190 "
        "bytes when reading"
    )
