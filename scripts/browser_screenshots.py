"""Redraw the README's browser screenshots in Debian's headless Chromium, with the embedded
model on the bundled corpus, in a cache folder of their own (so nobody's place is moved):

- docs/html.png: the page of `inspector html --doc probe-biden --doc prose/danube.txt`, the
  pointer on ` Hunter` of "Biden married Neilia Hunter, a student";
- docs/serve.png: `inspector serve` (browse) in a browser tab, at "Black Forest" in the
  Danube article.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/browser_screenshots.py [CACHE]
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from inspector.bench.browser import chromium, open_served, terminal_text, type_keys

DOCS = Path(__file__).resolve().parent.parent / "docs"


def inspector(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "inspector", *args], env=env,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def wait(check, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.2)


def page(cache: Path, tmp: Path) -> None:
    out = tmp / "page.html"
    done = inspector("html", "--doc", "probe-biden", "--doc", "prose/danube.txt",
                     "--cache-dir", str(cache), "--out", str(out))  # fmt: skip
    assert done.wait() == 0, done.stderr.read() if done.stderr else ""
    from selenium.webdriver.common.action_chains import ActionChains

    with chromium(1100, 760) as driver:
        driver.get(out.as_uri())
        data = driver.execute_script(
            "return JSON.parse(document.getElementById('tokens').textContent)"
        )
        at = next(i for i, d in enumerate(data) if d[0] == " Hunter")
        span = driver.find_elements("css selector", ".t")[at]
        ActionChains(driver).move_to_element(span).perform()
        time.sleep(0.3)
        driver.save_screenshot(str(DOCS / "html.png"))
    print(f"wrote {DOCS / 'html.png'} (tip: {json.dumps(data[at][9][:3])})")


def serve(cache: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = inspector("serve", "--port", str(port), "browse", "--cache-dir", str(cache))
    try:
        assert server.stderr is not None
        print(server.stderr.readline(), end="")
        with chromium(1280, 800) as driver:
            tab = open_served(driver, f"http://127.0.0.1:{port}/")
            wait(lambda: "window 2048" in terminal_text(driver), "the app to open")
            for keys in (":", "prose/danube.txt\n", "/", "Black Forest\n"):
                type_keys(driver, tab, keys)  # each prompt open before its answer is typed
                time.sleep(1)
            time.sleep(1)
            driver.save_screenshot(str(DOCS / "serve.png"))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"wrote {DOCS / 'serve.png'}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tmp) / "cache"
        page(cache, Path(tmp))
        serve(cache)
