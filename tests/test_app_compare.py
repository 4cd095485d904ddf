"""Compare mode in the app (issue 16): the text coloured by the change between runs, every
run's candidates side by side, jumps by change and by trend, the per-task changes beside."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import OptionList

from corpora import Document
from inspector.lm.config import ScoreConfig
from inspector.run.request import score_or_load
from inspector.session.compare import delta_bucket
from inspector.tui.app import InspectorApp
from inspector.tui.screens.pick_runs import PickRunsScreen
from inspector.tui.source import Scoring
from inspector.tui.widgets.change_table import ChangeTable
from inspector.tui.widgets.compare_panel import ComparePanel
from inspector.tui.widgets.document_view import DocumentView
from inspector.tui.widgets.legend import Legend
from inspector.tui.widgets.next_token import NextTokenPanel
from taggers.rules import load_rules

DOCS = [
    Document("biden", "Biden married Neilia Hunter, a student."),
    Document("danube", "The Danube flows into the Black Sea.\n\nIt is long."),
    Document("quiz", "The answer to 3 + 4 is 7, said the teacher. I don't know 😀."),
]


def compare_app(first: Path, *others: Path, cache: Path) -> InspectorApp:
    source = Scoring(
        DOCS, model_spec=str(first), device="cpu", compare_with=tuple(map(str, others))
    )
    return InspectorApp(source, "compare corpus", cache)


async def until(predicate, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def _text(widget) -> str:  # type: ignore[no-untyped-def]
    """What a Static widget shows, as plain text (a Group of tables drawn by Rich)."""
    from rich.console import Console

    console = Console(width=max(40, widget.size.width), record=True, file=open("/dev/null", "w"))
    console.print(widget.content)
    return console.export_text()


async def test_several_models_open_in_compare_mode(tiny_family: list[Path], tmp_path: Path) -> None:
    app = compare_app(*tiny_family, cache=tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await until(lambda: app.compare_view is not None)
        await pilot.pause()
        view, s = app.compare_view, app.session
        assert view is not None and app.comparing and view.unit == "token"
        assert len(view.names) == 3  # ordered by size: the smallest first
        document = app.query_one(DocumentView)
        assert document.mode == "change"
        # every target coloured by its unit's change, on the five-step diverging scale
        deltas = view.deltas(s.document.id, s.current)
        assert not np.isnan(deltas).any()
        assert (document.change_bucket == delta_bucket(deltas)).all()
        assert app.query_one(ComparePanel).display and not app.query_one(NextTokenPanel).display
        panel = _text(app.query_one(ComparePanel))
        assert "change" in panel and all(name in panel for name in view.names)
        change_table = app.query_one(ChangeTable)
        assert "this document" in _text(change_table)  # one page at a time, T turns them
        for page in (
            "all documents",
            "trends, all documents",
            "trends, this document",
            "this document",
        ):
            await pilot.press("T")
            assert page in _text(change_table)
            if page.startswith("trends"):  # its own title, and its signs explained
                assert change_table.border_title == "trend shares by task"
                assert "U: worse, then better · ∩: better, then worse" in _text(change_table)
            else:
                assert change_table.border_title == "change by task (nats)"  # one tokenizer
        legend = _text(app.query_one(Legend))
        assert f"{view.names[-1]} - {view.names[0]}" in legend  # the runs named, at any width
        # i: the biggest improvement in the corpus, then the next; I back
        top = view.improvements.row(0, named=True)
        await pilot.press("i")
        assert (s.document.id, s.pos) == (top["doc_id"], top["pos"])
        await pilot.press("i")
        second = view.improvements.row(1, named=True)
        assert (s.document.id, s.pos) == (second["doc_id"], second["pos"])
        await pilot.press("I")
        assert (s.document.id, s.pos) == (top["doc_id"], top["pos"])
        unit = view.unit_at(s.document.id, s.current, s.pos)
        assert unit is not None and unit["delta"] == min(view.comparison.units["delta"])
        await pilot.press("r")  # the biggest regression
        unit = view.unit_at(s.document.id, s.current, s.pos)
        assert unit is not None and unit["delta"] == max(view.comparison.units["delta"])
        # y picks a trend class, e walks through its units in text order
        await pilot.press("y")
        chosen = view.trend_filter
        assert chosen in view.trends
        await pilot.press("g", "[", "[")
        await pilot.press("e")
        unit = view.unit_at(s.document.id, s.current, s.pos)
        assert unit is not None and unit["trend"] == chosen
        # d: back to browsing, and on again; c cycles loss, rank and change
        await pilot.press("d")
        assert not app.comparing and app.query_one(NextTokenPanel).display
        assert document.mode == "loss"
        await pilot.press("d")
        assert app.comparing and document.mode == "change"
        await pilot.press("c")
        assert document.mode == "loss"
        assert f"loss of {view.names[0]} (nats)" in _text(app.query_one(Legend))  # whose loss
        await pilot.press("c", "c")
        assert document.mode == "change"


async def test_compare_key_builds_a_comparison_of_the_cached_runs(
    tiny_family: list[Path], tmp_path: Path
) -> None:
    from inspector.lm.config import ScoreConfig
    from inspector.run.request import score_or_load
    from taggers.rules import load_rules

    alone = compare_app(tiny_family[0], cache=tmp_path / "alone")
    async with alone.run_test(size=(100, 30)) as pilot:
        await until(lambda: alone.scoring == "done")
        await pilot.press("d")
        await until(lambda: not alone.compare_pending)
        assert alone.compare_view is None and not alone.comparing
        assert any("only one run" in str(n.message) for n in alone._notifications)
        await pilot.press("i")  # the compare keys say what to do
        assert any("press d" in str(n.message) for n in alone._notifications)

    score_or_load(DOCS, str(tiny_family[2]), "cpu", "auto", ScoreConfig(), load_rules(), tmp_path)
    app = compare_app(tiny_family[0], cache=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(lambda: app.scoring == "done")
        await pilot.press("d")
        await until(lambda: app.compare_view is not None)
        await pilot.pause()
        assert app.comparing and len(app.compare_view.names) == 2
        assert app.compare_view.trends == []  # two runs: no trends
        await pilot.press("y")
        assert any("three runs" in str(n.message) for n in app._notifications)
    # a third run: D lists the three, each ticked, in the order compared; enter compares them
    score_or_load(DOCS, str(tiny_family[1]), "cpu", "auto", ScoreConfig(), load_rules(), tmp_path)
    app = compare_app(tiny_family[0], cache=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: app.scoring == "done")
        await pilot.press("D")
        await until(lambda: isinstance(app.screen, PickRunsScreen))
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        # ticked in plain characters (16 colours draw a coloured tick alike either way)
        assert [p.split()[:2] for p in prompts] == [["[x]", f.name] for f in tiny_family]
        await pilot.press("space")  # leaves out the first (the highlighted)
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        assert str(options.get_option_at_index(0).prompt).startswith("[ ] ")
        await pilot.press("enter")
        await until(lambda: app.compare_view is not None)
        assert app.compare_view.names == tuple(f.name for f in tiny_family[1:])
    # the choice is remembered for this corpus: the next start compares the same two at
    # once, D offers them ticked, and a choice on the s screen is compare mode's too
    app = compare_app(tiny_family[0], cache=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: app.scoring == "done")
        await pilot.press("d")
        await until(lambda: app.compare_view is not None)
        assert app.compare_view.names == tuple(f.name for f in tiny_family[1:])
        await pilot.press("D")
        await until(lambda: isinstance(app.screen, PickRunsScreen))
        await pilot.pause()
        assert app.screen.ticked == [False, True, True]
        await pilot.press("escape")
        await pilot.press("s")
        await until(lambda: getattr(app.screen, "report", None) is not None)
        await pilot.press("D")
        await until(lambda: isinstance(app.screen, PickRunsScreen))
        await pilot.press("space", "enter")  # the smallest ticked too: all three
        await until(lambda: app.compare_view is not None and len(app.compare_view.names) == 3)
        assert app.compare_view.names == tuple(f.name for f in tiny_family)


async def test_other_tokenizers_compare_by_word(
    tiny_family: list[Path], tiny_other_tokenizer: Path, tmp_path: Path
) -> None:
    app = compare_app(tiny_family[1], tiny_other_tokenizer, cache=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: app.compare_view is not None)
        await pilot.pause()
        view, s = app.compare_view, app.session
        assert view is not None and view.unit == "word"
        for doc in range(len(DOCS)):  # a word's pieces all take the word's change
            s.goto(doc, 0)
            rows, doc_id = s.current, s.document.id
            index = view.target_units(doc_id, rows)
            units = view.docs[doc_id]
            covered = index >= 0
            assert covered.any()
            assert (units.char_start[index[covered]] <= rows.char_start[covered]).all()
            assert (rows.char_end[covered] <= units.char_end[index[covered]]).all()
        await pilot.press("r")
        unit = view.unit_at(s.document.id, s.current, s.pos)
        assert unit is not None and unit["delta"] == max(view.comparison.units["delta"])
        assert unit["text"].strip() in DOCS[s.doc].text


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_compare_mode_snapshot(
    snap_compare, tiny_family: list[Path], tmp_path: Path, size: tuple[int, int]
) -> None:
    app = compare_app(*tiny_family, cache=tmp_path)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await until(lambda: app.compare_view is not None)
        await pilot.pause()
        await pilot.press("right", "right", "right")
        app.clear_notifications()
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_browsed_run_of_another_tokenizer_finds_its_text(
    tiny_family: list[Path], tiny_other_tokenizer: Path, tmp_path: Path
) -> None:
    """Issue 43, item 1: browsing a run whose tokenizer the chosen runs do not share, the
    panel's unit at every position is the text under the cursor (read off the screen), not
    the unit with the cursor's index in the chosen runs' tokens."""
    for folder in tiny_family[:2]:
        score_or_load(DOCS, str(folder), "cpu", "auto", ScoreConfig(), load_rules(), tmp_path)
    app = compare_app(tiny_other_tokenizer, cache=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: app.scoring == "done")
        await pilot.press("d")
        await until(lambda: isinstance(app.screen, PickRunsScreen))
        await pilot.pause()
        # by default the runs that compare: the two of one tokenizer, not the browsed run
        assert app.screen.ticked == [True, True, False]
        await pilot.press("enter")
        await until(lambda: app.compare_view is not None)
        await pilot.pause()
        view, s = app.compare_view, app.session
        assert view.unit == "word" and view.comparison.aligned.shaped
        # across tokenizers a change is per word, and the screen says so
        assert app.query_one(ChangeTable).border_title == "change by task (nats per word)"
        assert "per word" in str(app.query_one(Legend).render())
        checked = 0
        for doc in range(len(DOCS)):
            s.goto(doc, 0)
            app.refresh_view()
            for pos in range(len(s.current)):
                s.goto(doc, pos)
                app.refresh_compare(tables=False)
                token = DOCS[doc].text[s.current.char_start[pos] : s.current.char_end[pos]]
                panel = _text(app.query_one(ComparePanel))
                line = next((x for x in panel.splitlines() if "unit " in x), "")
                if not token.strip() or not line:
                    continue
                shown_unit = line.split("unit ", 1)[1]
                assert token.strip() in shown_unit, (doc, pos, token, line)
                checked += 1
        assert checked > 30


def test_the_runs_probabilities_are_written_one_way() -> None:
    """Issue 43 walkthrough: the panel wrote `p 0.16%` beside `p 1.1e-05`; one format now."""
    from inspector.tui.widgets.compare_panel import one_format

    shown = one_format([0.0016, 1.1e-5])
    assert [shown(p) for p in (0.0016, 1.1e-5)] == ["1.6e-03", "1.1e-05"]
    shown = one_format([0.0016, 0.25])
    assert [shown(p) for p in (0.0016, 0.25)] == ["0.16%", "25.00%"]
