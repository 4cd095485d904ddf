"""Headless Chromium (Debian's `chromium`, driven through its `chromedriver` by Selenium):
what `bench --html` opens pages in, and what the browser tests and the README's screenshots
use. Nothing is downloaded: both programs come from the system."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from inspector.errors import InspectorError, message

# installed before any script of a page of `inspector serve`: keeps what its terminal
# receives as text, since the screen itself is drawn on a canvas
RECORD_TERMINAL = """
window.received = "";
const Native = window.WebSocket;
window.WebSocket = class extends Native {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (e) => {
      if (e.data instanceof ArrayBuffer) window.received += new TextDecoder().decode(e.data);
    });
  }
};
"""
_ANSI = re.compile(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


def missing() -> str | None:
    """Why no headless browser can be started here, or None if one can."""
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        return "Debian's chromium and chromium-driver are not installed"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A headless Chromium window of `width` x `height` CSS pixels, closed on exit."""
    why = missing()
    if why:
        raise InspectorError(message("no_browser", why=why))
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(shutil.which("chromium"))
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--no-first-run", "--hide-scrollbars"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(shutil.which("chromedriver"))), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def open_served(driver: Any, url: str, new_tab: bool = False) -> str:
    """Open a page of `inspector serve` recording its terminal (see `terminal_text`); the
    tab's handle."""
    if new_tab:
        driver.switch_to.new_window("tab")
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_TERMINAL})
    driver.get(url)
    return str(driver.current_window_handle)


def terminal_text(driver: Any) -> str:
    """Everything the current tab's terminal has received, its escape sequences removed."""
    return _ANSI.sub("", driver.execute_script("return window.received || ''"))


def type_keys(driver: Any, handle: str, keys: str) -> None:
    """Keys typed into the terminal of the tab `handle`, as key events."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver.switch_to.window(handle)
    driver.execute_script("document.querySelector('.xterm-helper-textarea').focus()")
    ActionChains(driver).send_keys(keys).perform()
