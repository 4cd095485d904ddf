"""`inspector serve` without a browser (issue 18): what each tab runs, the names and
addresses it accepts, its one-line errors, and the app asking who is annotating. The browser
itself is in test_browser.py."""

from __future__ import annotations

import shlex
import socket
from pathlib import Path

import pytest
from test_app import DOCS, scored

from conftest import run_cli
from inspector.tui.app import InspectorApp
from inspector.tui.serving import AppServer, BadRequest, check_name
from inspector.tui.source import Scoring


def test_each_tab_runs_the_app_with_its_annotator_quoted() -> None:
    server = AppServer(["annotate", "my corpus.txt", "--db", "team.sqlite"], "127.0.0.1", 8000)
    args = shlex.split(server.command_for("alice"))
    assert args[-5:] == ["annotate", "my corpus.txt", "--db", "team.sqlite", "--annotator=alice"]
    assert shlex.split(server.command_for(""))[-1] == "--ask-annotator"  # the app asks
    fixed = AppServer(["annotate", "--annotator", "bob"], "127.0.0.1", 8000)
    assert shlex.split(fixed.command_for(""))[-2:] == ["--annotator", "bob"]
    assert shlex.split(fixed.command_for("carol"))[-1] == "--annotator=carol"  # the URL wins
    browse = AppServer(["browse", "--model", "m"], "127.0.0.1", 8000)
    assert shlex.split(browse.command_for("alice"))[-3:] == ["browse", "--model", "m"]
    assert check_name("jo.smith@lab-1") == "jo.smith@lab-1" and check_name("Zoë") == "Zoë"
    for bad in ("a b", "x;rm -rf ~", "$(id)", "", "é" * 65, "a\nb", "../x", "--help", "-h"):
        with pytest.raises(BadRequest):
            check_name(bad)


def test_the_hosts_it_answers_to() -> None:
    local = AppServer([], "127.0.0.1", 8000)
    assert local.hosts == {"localhost", "127.0.0.1", "::1"}
    everywhere = AppServer([], "0.0.0.0", 8000, public_url="https://inspect.example.org")
    assert {"localhost", socket.gethostname().lower(), "inspect.example.org"} <= everywhere.hosts


def test_serve_says_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    done = run_cli("serve", "corpus.txt")
    assert done.returncode == 2 and "give browse or annotate" in done.stderr
    assert "Traceback" not in done.stderr
    done = run_cli("serve", "browse", "--nope")
    assert done.returncode == 2 and "unrecognized arguments: --nope" in done.stderr
    done = run_cli("serve", "--cache-dir", "x", "browse")
    assert done.returncode == 2 and "the app's options go after browse or annotate" in done.stderr
    done = run_cli("serve", "browse", "--port", "9")
    assert done.returncode == 2 and "serve's own options go before browse" in done.stderr
    done = run_cli("serve", "--public-url", "notaurl")
    assert done.returncode == 2 and "--public-url notaurl: give the address" in done.stderr
    done = run_cli("serve", "annotate", str(tmp_path / "missing.txt"))
    assert done.returncode == 2 and "no such file" in done.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("serve", "--port", str(port), "browse")  # said before any scoring
        assert done.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in done.stderr
        assert done.stderr.count("\n") == 1, done.stderr


async def test_the_app_asks_who_is_annotating(tiny_model_dir: Path, tmp_path: Path) -> None:
    from inspector.labels.store import Store
    from inspector.tui.annotating import AnnotateOptions
    from inspector.tui.screens.prompt import PromptScreen

    db = tmp_path / "labels.sqlite"
    source = Scoring(DOCS, model_spec=str(tiny_model_dir), device="cpu")
    app = InspectorApp(source, "c", tmp_path / "cache", annotate=AnnotateOptions(db, ""))
    async with app.run_test(size=(100, 34)) as pilot:
        await scored(pilot, app)
        assert isinstance(app.screen, PromptScreen) and app.labelling is None
        await pilot.press("1", "enter")  # "1" is a name; the label key went to the prompt
        await pilot.pause()
        assert app.annotate_options.annotator == "1" and app.labelling is not None
        await pilot.press("1")
        await pilot.pause()
    with Store(db, readonly=True) as store:
        assert store.table()["annotator"].to_list() == ["1"]
    app = InspectorApp(source, "c", tmp_path / "cache", annotate=AnnotateOptions(db, ""))
    async with app.run_test(size=(100, 34)) as pilot:
        await scored(pilot, app)
        await pilot.press("space", "enter")  # no name: asked again, nothing labelled
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen) and app.labelling is None


async def test_behind_a_proxy_the_page_connects_through_it() -> None:
    from aiohttp.test_utils import TestClient, TestServer

    server = AppServer(["browse"], "127.0.0.1", 8000, public_url="https://inspect.example.org")
    async with TestClient(TestServer(await server._make_app())) as client:
        page = await client.get("/?annotator=ana", headers={"Host": "inspect.example.org"})
        assert page.status == 200
        assert 'data-session-websocket-url="wss://inspect.example.org/ws/ana"' in await page.text()
        other = await client.get("/", headers={"Host": "elsewhere.example"})
        assert other.status == 403
    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    def websocket(origin: str) -> object:  # as a proxy that rewrites Host forwards it
        headers = {"Host": "127.0.0.1:8000", "Origin": origin}
        return make_mocked_request("GET", "/ws/ana", headers=headers)

    server.check_request(websocket("https://inspect.example.org"))  # the public page: allowed
    with pytest.raises(web.HTTPForbidden):
        server.check_request(websocket("https://attacker.example"))
