"""The HTML page and `inspector serve` in a real browser (issue 18): Debian's headless
Chromium, driven by Selenium with Debian's ChromeDriver. `make test` installs both with
apt-get where it can; without them these tests are skipped and say why.

What the tests can read: the page's DOM for `inspector html`; for `inspector serve`, whose
screen is drawn on a canvas, the terminal output the page receives (a WebSocket wrapper
installed before the page's own script) and the annotation database the tabs write to.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli
from inspector.bench.browser import chromium, missing, open_served, terminal_text, type_keys

WHY = missing()
pytestmark = pytest.mark.skipif(
    WHY is not None,
    reason=f"no headless browser: {WHY} (make test installs them with apt-get when it runs "
    "as root; else: apt-get install chromium chromium-driver)",
)

HOSTILE = {
    "script": "Before <script>document.title='pwned';window.ran=1</script> after.",
    "attr": 'Look "><img src=x onerror="document.title=1;window.ran=1"> here & there.',
    "plain": "Biden married Neilia Hunter, a student.\n\nCafé 日本語.",
    "long": "x" * 3000 + " 🚀🚀",  # no place to break a line; pieces of one character
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


def _wait(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"waited {timeout:.0f} s for {what}")


# -- the HTML page --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("page")
    corpus = folder / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in HOSTILE.items()))
    out = folder / "page.html"
    done = run_cli("html", str(corpus), "--model", str(tiny_model_dir), "--cache-dir",
                   str(folder / "cache"), "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_the_hostile_documents_run_nothing_in_the_browser(browser: Any, page: Path) -> None:
    browser.get(page.as_uri())
    assert browser.title.startswith("inspector: 4 document")  # not 'pwned', not '1'
    ran = browser.execute_script(
        "return [window.ran === undefined, document.images.length, document.scripts.length]"
    )
    assert ran == [True, 0, 2]  # no image element, only the page's data and code
    body = browser.find_element("tag name", "body").text
    assert "<script>document.title='pwned'" in body and '"><img src=x onerror=' in body


def test_hovering_or_focusing_a_token_shows_its_candidates(browser: Any, page: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    browser.get(page.as_uri())
    data = browser.execute_script(
        "return JSON.parse(document.getElementById('tokens').textContent)"
    )
    tip = browser.find_element("id", "tip")
    assert not tip.is_displayed()
    plain = browser.find_elements("css selector", "section")[2]  # "Biden married ..."
    span = next(
        e for e in plain.find_elements("css selector", ".t")[3:] if not e.get_attribute("data-n")
    )
    i = int(span.get_attribute("data-i"))
    ActionChains(browser).move_to_element(span).perform()
    _wait(tip.is_displayed, "the tip to show on hover", 5)
    _, nll, rank, _, _, task, rule, _, _, top, true_at = data[i][:11]
    text = tip.text
    assert f"loss {nll:.2f} nats" in text and f"rank {rank}" in text
    assert f"task {task} (rule {rule})" in text
    for candidate, p in top:  # every candidate with its probability, best first
        assert f"{json.dumps(candidate, ensure_ascii=False)} {100 * p:.1f}%" in text
    assert (true_at < 0) == ("not among these" in text)
    # the keyboard reaches every token: Tab from the buttons lands on the first one
    browser.find_element("css selector", "button[data-mode=rank]").send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.get_attribute("data-i") == "0"
    assert tip.text.startswith(f"target {json.dumps(data[0][0], ensure_ascii=False)}")


def test_the_tip_goes_away_and_nothing_is_wider_than_a_phone(browser: Any, page: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    browser.get(page.as_uri())
    tip = browser.find_element("id", "tip")
    spans = browser.find_elements("css selector", ".t")
    ActionChains(browser).move_to_element(spans[3]).perform()
    _wait(tip.is_displayed, "the tip", 5)
    ActionChains(browser).move_to_element(browser.find_element("tag name", "h1")).perform()
    _wait(lambda: not tip.is_displayed(), "the tip to go when the pointer leaves", 5)
    spans[3].send_keys(Keys.TAB)  # focus moves on: the next token's tip
    assert tip.is_displayed() and browser.switch_to.active_element == spans[4]
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    assert not tip.is_displayed()
    browser.set_window_size(400, 800)
    try:
        wide = browser.execute_script("return document.documentElement.scrollWidth > innerWidth")
        assert not wide  # 3,000 letters without a space wrap; the task table scrolls in its box
        ActionChains(browser).move_to_element(spans[-1]).perform()
        left, right = browser.execute_script(
            "const r = document.getElementById('tip').getBoundingClientRect(); return [r.left, r.right]"
        )
        assert left >= 0 and right <= browser.execute_script("return innerWidth")
    finally:
        browser.set_window_size(1280, 900)


def test_the_toggle_and_the_dark_scheme(browser: Any, page: Path, tmp_path: Path) -> None:
    browser.get(page.as_uri())
    data = browser.execute_script(
        "return JSON.parse(document.getElementById('tokens').textContent)"
    )
    browser.find_element("css selector", "button[data-mode=rank]").click()
    spans = browser.execute_script(
        "return [...document.querySelectorAll('.t')].map(e => [e.className, e.dataset.i, e.dataset.n])"
    )
    for cls, i, n in spans:  # each token's rank bucket (several pieces of one text: the worst)
        pieces = data[int(i) : int(i) + int(n or 1)]
        assert cls == f"t r{max(d[8] for d in pieces)}"
    assert browser.find_element("id", "legend-rank").is_displayed()
    assert not browser.find_element("id", "legend-loss").is_displayed()
    for scheme, dark in (("light", False), ("dark", True)):
        browser.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
        )
        fg, bg = browser.execute_script(
            "const s = getComputedStyle(document.body); return [s.color, s.backgroundColor]"
        )
        assert (_luminance(bg) < 0.1) == dark and _contrast(fg, bg) >= 7, (scheme, fg, bg)
        # every coloured token and legend cell, and the grey notes: 4.5:1 or more (WCAG AA)
        pairs = browser.execute_script(
            "return [...document.querySelectorAll('.t, .legend span, .meta, .hint')].map(e => {"
            " const s = getComputedStyle(e); let b = s.backgroundColor, p = e;"
            " while (b === 'rgba(0, 0, 0, 0)' && p.parentElement) {"
            "  p = p.parentElement; b = getComputedStyle(p).backgroundColor; }"
            " return [e.className, s.color, b]; })"
        )
        low = {(c, f, b) for c, f, b in pairs if _contrast(f, b) < 4.5}
        assert not low, (scheme, low)
        assert browser.save_screenshot(str(tmp_path / f"page-{scheme}.png"))
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def _luminance(css: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css)[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


# -- inspector serve ------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`inspector serve ... annotate` on the tiny model, its database, its address."""
    folder = tmp_path_factory.mktemp("serve")
    corpus = folder / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in HOSTILE.items()))
    db, port = folder / "team.sqlite", _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "inspector", "serve", "--port", str(port), "annotate", str(corpus),
         "--model", str(tiny_model_dir), "--cache-dir", str(folder / "cache"), "--db", str(db)],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert process.stderr is not None
    first = process.stderr.readline()  # said once every run is in the cache and it listens
    assert f"at http://127.0.0.1:{port}" in first, first + process.stderr.read()
    url = f"http://127.0.0.1:{port}"
    _wait(lambda: _status(url + "/") == 200, "the server to answer", 30)
    try:
        yield {"url": url, "db": db, "port": port}
    finally:
        process.terminate()
        process.wait(timeout=30)


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return 0


def _labels(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT annotator, label FROM labels ORDER BY id").fetchall()


def test_annotators_in_two_tabs_label_into_one_database(
    browser: Any, served: dict, tmp_path: Path
) -> None:
    from selenium.webdriver.common.keys import Keys

    db = served["db"]
    alice = open_served(browser, served["url"] + "/?annotator=alice", new_tab=True)
    _wait(lambda: "alice → team.sqlite" in terminal_text(browser), "alice's app to open")
    assert browser.save_screenshot(str(tmp_path / "serve.png"))
    someone = open_served(
        browser, served["url"] + "/", new_tab=True
    )  # no name in the URL: the app asks
    _wait(lambda: "Who is annotating?" in terminal_text(browser), "the app to ask for a name")
    type_keys(browser, someone, "carol" + Keys.ENTER)
    _wait(lambda: "carol → team.sqlite" in terminal_text(browser), "carol's app to open")
    for saved in range(1, 7):  # turn by turn, each tab labels its next target
        tab, key = (alice, "1") if saved % 2 else (someone, "2")
        type_keys(browser, tab, key)
        _wait(lambda n=saved: len(_labels(db)) == n, f"label {saved} to be saved", 15)
    labels = _labels(db)
    assert sorted(labels) == [("alice", "grammar")] * 3 + [("carol", "world_knowledge")] * 3
    type_keys(browser, alice, "333")  # at once now: both apps write while the other does
    type_keys(browser, someone, "444")
    _wait(lambda: len(_labels(db)) == 12, "all twelve labels", 30)
    time.sleep(1)  # nothing more arrives
    assert sorted(_labels(db)[6:]) == [("alice", "punctuation")] * 3 + [("carol", "arbitrary")] * 3


def test_the_server_refuses_other_hosts_origins_and_names(served: dict) -> None:
    import asyncio

    import aiohttp

    url, port = served["url"], served["port"]
    assert _status(url + "/", {"Host": f"attacker.example:{port}"}) == 403  # DNS rebinding
    assert _status(url + "/?annotator=a%20b") == 400
    assert _status(url + "/?annotator=" + "x" * 65) == 400
    assert _status(url + "/?annotator=bob") == 200
    assert _status(url + "/?annotator=--help") == 400  # never read as an option by the tab
    assert _status(url + "/static/js/textual.js", {"Host": "attacker.example"}) == 403
    assert _status(url + "/static/js/textual.js") == 200
    assert _status(url + "/?fontsize=%C2%B2") == 200  # a digit that is not 0-9: the default

    async def handshake(origin: str) -> int:
        async with aiohttp.ClientSession() as session:
            try:
                ws = await session.ws_connect(url.replace("http", "ws") + "/ws/bob",
                                              headers={"Origin": origin})  # fmt: skip
            except aiohttp.WSServerHandshakeError as e:
                return e.status
            await ws.close()
            return 101

    assert asyncio.run(handshake("https://attacker.example")) == 403  # another site's page
    assert asyncio.run(handshake(url)) == 101  # the server's own page


def test_bench_html_measures_the_page_in_the_browser(tiny_model_dir: Path, tmp_path: Path) -> None:
    done = run_cli("bench", "--html", "--tokens", "300", "--model", str(tiny_model_dir),
                   "--cache-dir", str(tmp_path), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["tokens"] == 300 and result["page"]["bytes"] > result["plain"]["bytes"] > 0
    for name in ("page", "plain"):  # three loads each, every one timed by the browser
        assert len(result[name]["load_ms"]) == 3 and min(result[name]["load_ms"]) > 0


def test_a_click_colours_a_targets_context(
    browser: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """`html --context all`: a click on a target colours the spans of its context by their
    bucket and lists its largest contributors with their distance back; Escape restores."""
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "biden", "text": HOSTILE["plain"]}) + "\n")
    out = tmp_path / "page.html"
    done = run_cli("html", str(corpus), "--model", str(tiny_model_dir), "--cache-dir",
                   str(tmp_path / "cache"), "--context", "all", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    browser.get(out.as_uri())
    data = browser.execute_script(
        "return JSON.parse(document.getElementById('tokens').textContent)"
    )
    spans = browser.find_elements("css selector", ".t")
    span = next(e for e in spans[4:] if not e.get_attribute("data-n"))
    k = int(span.get_attribute("data-i"))
    buckets, top = data[k][11]
    span.click()
    listed = _wait(lambda: browser.find_element("id", "context-top").text, "the contributors")
    assert listed.startswith(f"context of {json.dumps(data[k][0], ensure_ascii=False)}:")
    for j, score in top:  # each with how far back it is
        back = data[k][12] - data[j][12]
        shown = f"{json.dumps(data[j][0], ensure_ascii=False)} {back} back {score:+.2f}"
        assert shown in listed, listed
    classes = {int(e.get_attribute("data-i")): e.get_attribute("class") for e in spans}
    for j, bucket in buckets:
        if j in classes:
            assert f"c{bucket}" in classes[j].split(), (j, classes[j])
    later = [i for i in classes if i > k]
    assert later and all("cn" in classes[i].split() for i in later)  # after it: not its context
    assert browser.find_element("id", "legend-context").is_displayed()
    browser.find_element("tag name", "body").send_keys("\ue00c")  # Escape
    _wait(lambda: not browser.find_element("id", "context-top").is_displayed(), "the restore", 5)
    assert span.get_attribute("class").split()[1].startswith("b")  # the loss colours again
