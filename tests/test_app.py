"""Pilot tests of the app with a tiny model: moving, jumping, searching, help, resume, errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import polars as pl
import pytest

from corpora import Document
from inspector.tui.app import InspectorApp
from inspector.tui.screens.help import HelpScreen
from inspector.tui.screens.prompt import PromptScreen
from inspector.tui.source import OnDisk, Scoring
from inspector.tui.widgets.document_view import DocumentView

DOCS = [
    Document("biden", "Biden married Neilia Hunter, a student."),
    Document("danube", "The Danube flows into the Black Sea.\n\nIt is long."),
    Document("quiz", "The answer to 3 + 4 is 7, said the teacher."),
]


def make_app(model: Path | str, cache: Path, docs: list[Document] = DOCS) -> InspectorApp:
    return InspectorApp(Scoring(docs, model_spec=str(model), device="cpu"), "test corpus", cache)


async def scored(pilot, app: InspectorApp, timeout: float = 60) -> None:
    """Wait until the worker has scored everything (or failed)."""
    for _ in range(int(timeout / 0.05)):
        if app.scoring in ("done", "failed"):
            await pilot.pause()
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"scoring did not finish: {app.scoring}")


async def test_navigation_keys(tiny_model_dir: Path, tmp_path: Path) -> None:
    app = make_app(tiny_model_dir, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await scored(pilot, app)
        s = app.session
        assert app.error == "" and len(s.rows) == 3
        await pilot.press("right", "l", "l")
        assert s.pos == 3
        await pilot.press("left", "h")
        assert s.pos == 1
        await pilot.press("end")
        assert s.pos == len(s.current) - 1
        await pilot.press("home")
        assert s.pos == 0
        await pilot.press("w")
        first_word = s.row()["word"]
        assert s.pos > 0 and s.row()["word_initial"] and first_word != "Biden"
        await pilot.press("b")
        assert s.pos == 0
        await pilot.press("]")
        assert s.doc == 1 and s.pos == 0
        await pilot.press("[")
        assert s.doc == 0
        view = app.query_one(DocumentView)
        assert view.selected == s.pos and view.text == DOCS[0].text


async def test_filters_jump_and_show(tiny_model_dir: Path, tmp_path: Path) -> None:
    app = make_app(tiny_model_dir, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await scored(pilot, app)
        s = app.session
        await pilot.press("t")
        chosen = s.task_filter
        assert chosen in s.tasks()
        await pilot.press("f")
        assert s.row()["task"] == chosen
        assert f"task={chosen}" in str(app.query_one("#status").render())
        s.goto(0, 0)
        s.loss_threshold = 0.0
        await pilot.press("x")
        assert s.pos == 1  # every target is above 0 nats
        await pilot.press("minus")
        assert s.loss_threshold == 0.0
        await pilot.press("plus", "plus")
        assert s.loss_threshold == 2.0
        s.goto(0, 0)
        await pilot.press("o")  # random weights: most targets are outside the top 20
        assert s.row()["rank"] > 20


async def test_search_goto_colour_and_click(tiny_model_dir: Path, tmp_path: Path) -> None:
    app = make_app(tiny_model_dir, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await scored(pilot, app)
        s = app.session
        await pilot.press("slash")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"black sea", "enter")
        assert s.doc == 1
        row = s.row()
        assert DOCS[1].text[row["char_start"] : row["char_end"]].strip() in (
            "Black",
            "B",
            "Bl",
            "Bla",
        )
        await pilot.press("n")  # no other match: stays, and says so
        assert s.doc == 1
        await pilot.press("colon", *"3:4", "enter")  # document 3, the table's pos 4
        assert (s.doc, s.pos) == (2, 4)
        assert s.current.table["pos"][s.pos] == 4  # the row the table calls pos 4
        assert " 4/24 " in str(app.query_one("#status").render())  # compact at 100 columns
        await pilot.press("c")
        assert app.query_one(DocumentView).mode == "rank"
        await pilot.click(DocumentView, offset=(2, 0))  # the view's padding is one cell
        assert s.pos == s.current.token_at(1)


async def test_help_lists_every_key_and_palette_has_every_action(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    app = make_app(tiny_model_dir, tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert len(app.screen.keys) == len(InspectorApp.BINDINGS)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        commands = {c.help: c.title for c in app.get_system_commands(app.screen)}
        for binding in InspectorApp.BINDINGS:
            if binding.action == "quit":  # Textual's own Quit command runs it
                assert "Quit" in commands.values()
                continue
            assert commands.get(binding.tooltip or binding.description, "").startswith(
                binding.description
            ), binding.action
        await scored(pilot, app)


async def test_resume_where_the_reader_left(tiny_model_dir: Path, tmp_path: Path) -> None:
    app = make_app(tiny_model_dir, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await scored(pilot, app)
        assert not app.from_cache
        await pilot.press("]", "]", "right", "right", "right")
        await pilot.press("q")
    again = make_app(tiny_model_dir, tmp_path)
    async with again.run_test(size=(100, 30)) as pilot:
        await scored(pilot, again)
        assert again.from_cache  # the second start reads the cache, no model
        assert (again.session.doc, again.session.pos) == (2, 3)


async def test_errors_are_shown_and_the_text_stays_browsable(tmp_path: Path) -> None:
    app = make_app(tmp_path / "no-such-model", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await scored(pilot, app)
        assert "no such file or folder" in app.error
        assert any("no such file or folder" in str(n.message) for n in app._notifications)
        assert "scoring failed" in str(app.query_one("#next").render())
        await pilot.press("]")
        assert app.session.doc == 1  # documents can still be read


@pytest.mark.parametrize("size", [(80, 24), (140, 40)])
def test_main_screen_snapshot(
    snap_compare, tiny_model_dir: Path, tmp_path: Path, size: tuple[int, int]
) -> None:
    app = make_app(tiny_model_dir, tmp_path)

    async def run_before(pilot) -> None:
        await scored(pilot, app)
        await pilot.press("right", "right", "right", "right", "right")
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_unreadable_inputs_are_reported_in_the_app(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from corpora.readers import read_for_browsing

    (tmp_path / "good.txt").write_text("Biden married Neilia Hunter, a student.")
    (tmp_path / "bad.txt").write_bytes(b"caf\xff")
    docs, problems = read_for_browsing(
        [tmp_path / "good.txt", tmp_path / "bad.txt"], "text", "text"
    )
    assert [d.id for d in docs] == ["good.txt"]
    assert len(problems) == 1 and "bad.txt: not valid UTF-8 at byte offset 3" in problems[0]
    source = Scoring(docs, model_spec=str(tiny_model_dir), device="cpu")
    app = InspectorApp(source, "c", tmp_path / "cache", problems=problems)
    async with app.run_test(size=(100, 30)) as pilot:
        await scored(pilot, app)
        assert any("not valid UTF-8" in str(n.message) for n in app._notifications)
        assert len(app.session.rows) == 1  # what did load is scored and browsable


@pytest.mark.parametrize("size", [(80, 24), (120, 36), (200, 50)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_tasks_screen_compares_and_fits_cached_models(
    tiny_family: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    """Three cached sizes of a model: the s screen compares them, fits each task's loss
    against size and draws the fits and exact match of words, all read from the screen."""
    from inspector.lm.config import ScoreConfig
    from inspector.run.request import score_or_load
    from inspector.tables.render import param_count
    from inspector.tui.screens.report import ReportScreen
    from inspector.tui.widgets.charts import LineChart
    from taggers.rules import load_rules
    from terminal import terminal

    rules = load_rules()
    for folder in tiny_family[1:]:  # the cache holds two other sizes of this corpus
        score_or_load(DOCS, str(folder), "cpu", "auto", ScoreConfig(), rules, tmp_path)
    app = make_app(tiny_family[0], tmp_path)
    with terminal(monkeypatch, *size) as term:
        async with app.run_test(size=size) as pilot:
            await scored(pilot, app)
            await pilot.press("s")
            assert isinstance(app.screen, ReportScreen)
            screen = app.screen
            for _ in range(400):
                if screen.shown is not None:
                    break
                await asyncio.sleep(0.05)
            assert screen.shown is not None
            text = screen.shown
            assert "3 of 3 cached runs" in text and "nats per token" in text
            assert all(f.name in text for f in tiny_family)
            assert "how each task scales: fits of loss in nats per token against parameters" in text
            assert "log-linear" in text  # three runs: the log-linear fit
            assert "chart: per-task loss (nats/token) against size, fitted" in text
            assert "chart: exact match of words (every piece top-1), by task" in text
            charts = list(screen.query(LineChart))
            assert len(charts) == 2
            sizes = sorted(set(r.settings["n_params"] for r in screen.report.catalog.choose(
                screen.report.chosen).runs))  # fmt: skip
            for chart in charts:  # widgets, sized to their boxes
                drawn = str(chart.render())
                assert all(param_count(n) in drawn for n in sizes) and "log scale" in drawn
            seen = ""
            wanted = ("how each task scales", "loss (nats/token) against size, fitted",
                      "exact match of words (every piece top-1), by task")  # fmt: skip
            for _ in range(30):  # PageDown through the report, reading the screen
                seen += " ".join(term.text().replace("│", " ").split()) + " "
                if all(w in seen for w in wanted):
                    break
                await pilot.press("pagedown")
                await pilot.pause(0.1)
            assert all(w in seen for w in wanted), seen
            await pilot.press("escape")
            assert not isinstance(app.screen, ReportScreen)


async def test_labelling_flow_with_keys(tiny_model_dir: Path, tmp_path: Path) -> None:
    from inspector.labels.store import Store
    from inspector.tui.annotating import AnnotateOptions
    from inspector.tui.screens.report import ReportScreen

    db = tmp_path / "labels.sqlite"
    options = AnnotateOptions(db, "ann", "text")
    source = Scoring(DOCS, model_spec=str(tiny_model_dir), device="cpu")
    app = InspectorApp(source, "c", tmp_path / "cache", annotate=options)
    async with app.run_test(size=(100, 34)) as pilot:
        await scored(pilot, app)
        lab = app.labelling
        assert lab is not None and app.mode == "annotate"
        first = lab.current()
        await pilot.press("1")  # grammar
        assert lab.current() != first
        second = lab.current()
        await pilot.press("enter")  # the heuristic's task
        await pilot.press("space")  # skip
        await pilot.press("u")  # undo the skip
        assert lab.progress().skipped == 0
        await pilot.press("n", *"odd one", "enter", "2")  # a note, then world_knowledge
        await pilot.press("backspace")
        assert lab.current() != second
        with Store(db, readonly=True) as store:
            rows = store.table()
        assert rows["label"].to_list()[:2] == [
            "grammar",
            app.session.rows[second[0]].task[second[1]],
        ]
        assert rows.filter(pl.col("note") == "odd one")["label"].to_list() == ["world_knowledge"]
        await pilot.press("a")  # back to browsing: n searches again, digits do nothing
        assert app.mode == "browse"
        await pilot.press("1")
        assert lab.progress().labelled == 3
        await pilot.press("K")
        assert isinstance(app.screen, ReportScreen)
        for _ in range(200):
            if app.screen.shown:
                break
            await asyncio.sleep(0.05)
        assert "Cohen's kappa" in app.screen.shown
        await pilot.press("escape")
        await pilot.press("q")
    again = InspectorApp(
        Scoring(DOCS, model_spec=str(tiny_model_dir), device="cpu"),
        "c",
        tmp_path / "cache",
        annotate=options,
    )
    async with again.run_test(size=(100, 34)) as pilot:
        await scored(pilot, again)
        lab = again.labelling
        assert lab is not None and not lab.is_done(
            *lab.current()
        )  # resumes at an unlabelled target
        assert lab.progress().labelled == 3


async def test_annotation_order_is_shown(tiny_model_dir: Path, tmp_path: Path) -> None:
    from inspector.tui.annotating import AnnotateOptions

    options = AnnotateOptions(tmp_path / "l.sqlite", "ann", "loss")
    source = Scoring(DOCS, model_spec=str(tiny_model_dir), device="cpu")
    app = InspectorApp(source, "c", tmp_path / "cache", annotate=options)
    async with app.run_test(size=(100, 34)) as pilot:
        await scored(pilot, app)
        panel = app.query_one("#annotation")
        assert panel.display and "loss order" in str(panel.render())
        lab = app.labelling
        top = max(((d, p) for d, p in lab.queue), key=lambda t: app.session.rows[t[0]].nll[t[1]])
        assert lab.current() == top


async def test_browsing_a_table_on_disk_reads_documents_on_demand(
    tiny_lm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inspector.lm.config import ScoreConfig
    from inspector.run.parts import score_to_parts
    from inspector.tui import app as app_module
    from taggers.rules import load_rules

    docs = [Document(f"d{i}", f"Document number {i} is about the river {i}.") for i in range(8)]
    score_to_parts(docs, tiny_lm, ScoreConfig(), load_rules(), tmp_path / "parts", part_chars=100)
    monkeypatch.setattr(app_module, "KEEP_LOADED", 2)
    app = InspectorApp(OnDisk(docs, path=str(tmp_path / "parts")), "parts", tmp_path / "cache")
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(200):
            if app.corpus_summary is not None and 0 in app.session.rows:
                break
            await asyncio.sleep(0.05)
        assert set(app.session.rows) == {0, 1, 2}  # the document on screen and the next two
        total = app.corpus_summary["tokens"].sum()
        assert total > 8 * 8  # the whole table's summary, not just what is loaded
        for _ in range(6):
            await pilot.press("]")
            for _ in range(100):
                if app.session.doc in app.session.rows:
                    break
                await asyncio.sleep(0.05)
        assert app.session.doc == 6 and app.session.row() is not None
        assert len(app.session.rows) <= 2 + 1 + 2  # kept: two recent, the one on screen, prefetched
        assert 0 not in app.session.rows  # long unseen: forgotten
        # the table was scored long ago: documents read on request are no scoring progress
        await pilot.pause()
        status = str(app.query_one("#status").render())
        assert "scoring" not in status and "doc 7/8 d6" in status, status
