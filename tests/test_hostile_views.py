"""Untrusted strings in every view: never parsed as markup, never sent raw to the terminal.

Document text, JSONL field names, a search, rule names and file names once retitled the
terminal (`\\x1b]2;...\\x07`), crashed the app with a MarkupError (exit 0), or became a
clickable action (`[@click=app.quit]`). Issue 12, items 2 and 3.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from conftest import run_cli
from corpora import Document
from inspector import visible
from inspector.tui.app import InspectorApp
from inspector.tui.source import Scoring
from inspector.tui.widgets.document_view import DocumentView

TITLE = "\x1b]2;PWNED\x07"  # sets the terminal's window title when printed raw
HOSTILE = f"Hello {TITLE} world \u202etxt.exe\x9b2J and [/b] [@click=app.quit]x[/]."


def _visible_everywhere(rendered: str) -> None:
    assert "\x1b" not in rendered and "\x07" not in rendered and "\u202e" not in rendered


def test_line_escapes_every_control_character_on_one_line() -> None:
    shown = visible.line(f"a{TITLE}\nb\tc\u202e\ud800\x9b")
    assert shown == "a\\x1b]2;PWNED\\x07\\nb\\tc\\u202e\\ud800\\x9b"
    shown.encode("utf-8")  # a lone surrogate no longer breaks printing


def test_same_length_keeps_offsets_and_newlines() -> None:
    shown = visible.same_length(HOSTILE + "\nnext\r")
    assert len(shown) == len(HOSTILE) + 6
    assert "␛]2;PWNED␇" in shown and shown.endswith("\nnext␍")
    _visible_everywhere(shown)


def test_keep_colour_keeps_only_colour_sequences() -> None:
    assert (
        visible.keep_colour(f"\x1b[31mred\x1b[0m{TITLE}") == "\x1b[31mred\x1b[0m\\x1b]2;PWNED\\x07"
    )


async def _wait_scored(app: InspectorApp, timeout: float = 60) -> None:
    for _ in range(int(timeout / 0.05)):
        if app.scoring in ("done", "failed"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"scoring did not finish: {app.scoring}")


def _hostile_rules(tmp_path: Path) -> Path:
    """The shipped rules with a first rule whose name is markup (a name with control
    characters is refused by the rule loader, in one escaped line)."""
    from taggers.rules import default_rules_path

    shipped = default_rules_path().read_text()
    evil = json.dumps("[/b][@click=app.quit]")  # a TOML basic string is a JSON string here
    extra = f'\n[[rule]]\nname = {evil}\ntask = "evil"\nwhen = {{ is_alpha = true }}\n'
    head, _, rest = shipped.partition("\n[[rule]]")
    path = tmp_path / "rules.toml"
    path.write_text(head + extra + "\n[[rule]]" + rest)
    return path


async def test_the_app_shows_hostile_text_rules_fields_and_searches_as_text(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from taggers.rules import load_rules

    docs = [Document("evil", HOSTILE), Document("[/b]" + TITLE, "second [/zz] document")]
    rules = load_rules(_hostile_rules(tmp_path))
    app = InspectorApp(
        Scoring(docs, rules=rules, model_spec=str(tiny_model_dir), device="cpu"),
        "corpus " + TITLE,
        tmp_path / "cache",
        problems=["x.jsonl:1: no field 'text' (fields here: [/b], [@click=app.quit]); choose one"],
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await _wait_scored(app)
        await pilot.pause()
        assert app.error == ""
        view = app.query_one(DocumentView)
        drawn = "".join(view.render_line(y).text for y in range(3))
        assert "␛]2;PWNED␇" in drawn
        _visible_everywhere(drawn)
        assert "[/b][@click=app.quit]" in str(app.query_one("#task").render())  # rule name
        for key in ("w", "w", "w"):
            await pilot.press(key)
        await pilot.pause()
        for widget in ("#task", "#status", "#tasks", "#next"):
            _visible_everywhere(str(app.query_one(widget).render()))
        # the problem line with markup-like field names is shown as it is, and is not a link
        shown = [n for n in app._notifications if "fields here" in n.message]
        assert shown and not shown[0].markup and "[@click=app.quit]" in shown[0].message
        # a search that looks like closing markup is searched for, not parsed
        await pilot.press("slash")
        await pilot.pause()
        for ch in "[/zz]":
            await pilot.press(ch)
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.doc == 1 and app.is_running
        app.last_search = "[/nothing-like-this]"
        await pilot.press("n")
        await pilot.pause()
        assert any("[/nothing-like-this]" in n.message for n in app._notifications)
        await pilot.press("s")  # the report screen: task names with escapes, as text
        await pilot.pause(1.0)
        await pilot.press("escape")
        assert app.is_running


@pytest.mark.parametrize("where", ["error", "summary"])
def test_the_command_line_prints_hostile_names_as_escapes(
    tiny_model_dir: Path, tmp_path: Path, where: str
) -> None:
    if where == "error":
        proc = run_cli("score", str(tmp_path / f"missing{TITLE}.txt"))
        assert proc.returncode == 2
        text = proc.stderr
        assert len(text.strip().splitlines()) == 1 and "\\x1b]2;PWNED\\x07" in text
    else:  # a model folder whose name holds the escape: the summary names the model
        import shutil

        model = tmp_path / f"tiny{TITLE}"
        shutil.copytree(tiny_model_dir, model)
        corpus = tmp_path / "c.txt"
        corpus.write_text("Biden married Neilia Hunter, a student.")
        proc = run_cli("score", str(corpus), "--model", str(model), "--cache-dir", str(tmp_path))
        assert proc.returncode == 0, proc.stderr
        text = proc.stdout + proc.stderr
        assert "tiny\\x1b]2;PWNED\\x07" in proc.stdout
    _visible_everywhere(text)


def test_a_crash_in_the_app_is_not_a_success(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from textual.app import App

    from inspector import cli

    def crash(self: InspectorApp) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(InspectorApp, "on_mount", crash)
    monkeypatch.setattr(InspectorApp, "run", lambda self: App.run(self, headless=True))
    corpus = tmp_path / "c.txt"
    corpus.write_text("text")
    code = cli.main(["browse", str(corpus), "--cache-dir", str(tmp_path / "cache")])
    assert code != 0
