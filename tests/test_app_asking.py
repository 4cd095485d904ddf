"""Asking the model in the app (issue 17): candidates at the cursor, a document's probe, your
own text, every document at a glance, a task's worst targets in context."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from textual.widgets import DataTable

from corpora import Document, bundled_path, read_corpus
from inspector.lm.continuations import Asker
from inspector.tui.app import InspectorApp
from inspector.tui.asking import candidates_of
from inspector.tui.screens.examples import ExamplesScreen
from inspector.tui.screens.overview import OverviewScreen
from inspector.tui.screens.prompt import PromptScreen
from inspector.tui.screens.report import ReportScreen
from inspector.tui.screens.write import WriteScreen
from inspector.tui.source import Scoring
from inspector.tui.widgets.probe_note import ProbeNote

DOCS = [
    Document("biden", "Biden married Neilia Hunter, a student."),
    Document("danube", "The Danube flows into the Black Sea.\n\nIt is long."),
    Document("quiz", "The answer to 3 + 4 is 7, said the teacher."),
]


def make_app(model: Path, cache: Path, docs: list[Document] = DOCS) -> InspectorApp:
    return InspectorApp(Scoring(docs, model_spec=str(model), device="cpu"), "asking", cache)


async def until(predicate, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def report(app: InspectorApp) -> str:
    await until(lambda: isinstance(app.screen, ReportScreen) and app.screen.shown is not None)
    return app.screen.shown  # type: ignore[attr-defined,no-any-return]


def test_candidates_take_the_targets_space_unless_quoted() -> None:
    assert candidates_of("Baku | London|", " ") == [" Baku", " London"]
    assert candidates_of('"Baku" | x', " ") == ["Baku", " x"]
    assert candidates_of(" | ", " ") == []


async def test_contrast_at_the_cursor(tiny_model_dir: Path, tmp_path: Path) -> None:
    app = make_app(tiny_model_dir, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.scoring == "done")
        s = app.session
        s.goto(0, 3)  # ' Neilia' or a piece of it: a target with a leading space
        app.refresh_view()
        row = s.row()
        assert row is not None
        prefix, true = (
            DOCS[0].text[: row["char_start"]],
            DOCS[0].text[row["char_start"] : row["char_end"]],
        )
        await pilot.press("p")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"Jill | Smith", "enter")
        shown = await report(app)
        lead = true[: len(true) - len(true.lstrip())]
        expected = Asker(app.source.loaded).ask(prefix, [true, lead + "Jill", lead + "Smith"])
        for answer in expected:  # the same numbers as the model asked directly
            assert repr(answer.text) in shown and f"{answer.nll:.4f}" in shown
        assert "the text's" in shown
        # the text's own continuation costs what the token table says (one piece here)
        if len(expected[0].pieces) == 1:
            assert abs(expected[0].nll - row["nll"]) < 1e-4


async def test_a_probes_note_and_result(tiny_model_dir: Path, tmp_path: Path) -> None:
    probes = [d for d in read_corpus([bundled_path() / "probes.jsonl"]) if d.text]
    app = make_app(tiny_model_dir, tmp_path, probes)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.scoring == "done")
        app.session.goto("probe-world")
        app.refresh_view(tables=True)
        await pilot.pause()
        # the model scored this corpus, so it is in memory: the note comes with its verdict,
        # above the text for as long as the document is open (no toast over the panels)
        line = app.query_one(ProbeNote)

        def shown() -> str:
            return str(line.render()) if line.display else ""

        await until(
            lambda: "'Baku' should beat 'London'" in shown() and "against ' London'" in shown()
        )
        assert not app._notifications
        app.action_document(1)
        await pilot.pause()
        assert "Baku" not in shown()
        app.action_document(-1)
        await pilot.pause()
        assert "against ' London'" in shown()  # kept, not asked again
        await pilot.press("P")
        shown = await report(app)
        assert "' Baku'" in shown and "' London'" in shown and "over the best foil" in shown
        await pilot.press("escape")


async def test_your_own_text_is_scored_opened_and_saved(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    app = make_app(tiny_model_dir, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.scoring == "done")
        await pilot.press("m")
        assert isinstance(app.screen, WriteScreen)
        await pilot.press(*"The capital of Azerbaijan is Baku.", "ctrl+s")
        await until(
            lambda: app.session.document.id == "your text 1" and app.session.current is not None
        )
        rows = app.session.current
        assert rows is not None and len(rows) > 5 and app.session.document.text.endswith("Baku.")
        assert len(app.session.docs) == len(DOCS) + 1
        out = tmp_path / "mine.jsonl"
        for _ in range(2):  # saved twice: added, never replaced
            await pilot.press("M")
            assert isinstance(app.screen, PromptScreen)
            await pilot.press(*(["backspace"] * 20), *str(out), "enter")
            await pilot.pause()
        lines = [json.loads(x) for x in out.read_text().splitlines()]
        assert lines == [{"id": "your text 1", "text": "The capital of Azerbaijan is Baku."}]


def test_saving_texts_never_duplicates_or_breaks_a_file(tmp_path: Path) -> None:
    from inspector.tui.asking import SaveError, save_texts

    path = tmp_path / "mine.jsonl"
    path.write_text('{"id": "your text 1", "text": "older"}')  # no newline at its end
    texts = [Document("your text 1", "new one"), Document("your text 2", "older")]
    assert save_texts(path, texts) == 1  # "older" is there already
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    assert rows == [
        {"id": "your text 1", "text": "older"},
        {"id": "your text 1 (2)", "text": "new one"},
    ]
    assert save_texts(path, texts) == 0 and len(path.read_text().splitlines()) == 2
    with pytest.raises(SaveError, match=r"a \.jsonl file"):
        save_texts(tmp_path / "notes.md", texts)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("not json\n")
    with pytest.raises(SaveError, match="not a JSONL file"):
        save_texts(broken, texts)
    assert broken.read_text() == "not json\n"  # refused, never changed
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "]" * 100_000 + "\n")  # nested past the parser's depth
    with pytest.raises(SaveError, match="not a JSONL file"):
        save_texts(deep, texts)
    import os

    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)  # reading it would block the app
    with pytest.raises(SaveError, match="not a file"):
        save_texts(fifo, texts)
    (tmp_path / "folder.jsonl").mkdir()
    with pytest.raises(SaveError, match="not a file"):
        save_texts(tmp_path / "folder.jsonl", texts)


async def test_overview_sorts_and_opens_documents(tiny_model_dir: Path, tmp_path: Path) -> None:
    app = make_app(tiny_model_dir, tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(lambda: app.scoring == "done")
        await pilot.press("v")
        assert isinstance(app.screen, OverviewScreen)
        grid = app.screen.query_one(DataTable)
        assert grid.row_count == len(DOCS)
        columns = app.screen.table.columns
        assert {"tokens", "mean_loss", "rank 1-10", "11-100", "101-1000", ">1000"} <= set(columns)
        await pilot.press(*(["right"] * columns.index("mean_loss")), "s")
        losses = [
            float(str(grid.get_row_at(i)[columns.index("mean_loss")]))
            for i in range(grid.row_count)
        ]
        assert losses == sorted(losses, reverse=True)
        first = str(grid.get_row_at(0)[0])
        await pilot.press("enter")
        assert not isinstance(app.screen, OverviewScreen) and app.session.document.id == first


async def test_examples_from_a_key_and_from_the_tasks_screen(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    app = make_app(tiny_model_dir, tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(lambda: app.scoring == "done")
        task = app.session.row()["task"]  # type: ignore[index]
        await pilot.press("z")
        assert isinstance(app.screen, ExamplesScreen)
        table = app.screen.table
        assert (table["task"] == task).all() and table["nll"].to_list() == sorted(
            table["nll"], reverse=True
        )
        await pilot.press("down", "enter")
        second = table.row(1, named=True)
        assert (app.session.document.id, app.session.pos) == (second["doc_id"], second["pos"])
        await pilot.press("s")  # the per-task screen: Enter on a task lists its examples
        await report(app)
        grid = app.screen.query_one(DataTable)
        grid.focus()
        rows = app.screen.report.parts[1].frame  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, ExamplesScreen))
        assert (app.screen.table["task"] == rows["task"][0]).all()


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
@pytest.mark.parametrize("screen", ["contrast", "overview", "examples", "write"])
def test_asking_screens_snapshot(
    snap_compare, tiny_model_dir: Path, tmp_path: Path, screen: str, size: tuple[int, int]
) -> None:
    app = make_app(tiny_model_dir, tmp_path)
    keys = {"contrast": ["right", "right", "p", *"Jill | Smith", "enter"], "overview": ["v"],
            "examples": ["z"], "write": ["m", *"My own text."]}[screen]  # fmt: skip

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await until(lambda: app.scoring == "done")
        await pilot.press(*keys)
        if screen == "contrast":
            await report(app)
        app.clear_notifications()
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_the_probe_line_follows_annotation_mode_to_another_document(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Issue 43, item 4: `a` moves to the labelling queue's target in another document; the
    probe's line goes with the document it belongs to, and comes back with `a`."""
    from inspector.tui.annotating import AnnotateOptions

    probes = [d for d in read_corpus([bundled_path() / "probes.jsonl"]) if d.text]
    options = AnnotateOptions(db=tmp_path / "labels.sqlite", annotator="tester")
    app = InspectorApp(Scoring(probes, model_spec=str(tiny_model_dir), device="cpu"), "asking",
                       tmp_path, annotate=options)  # fmt: skip
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.scoring == "done")
        line = app.query_one(ProbeNote)
        await pilot.press("a")  # it opens annotating: browse first
        await pilot.pause()
        assert app.mode == "browse"
        last = len(probes) - 1
        app.session.goto(last, 0)  # the last probe: the queue starts at the first document
        app.refresh_view(tables=True)
        await pilot.pause()
        mine = app.probe_here()
        assert mine is not None and line.display and mine.task in str(line.render())
        await pilot.press("a")
        await pilot.pause()
        assert app.mode == "annotate" and app.session.doc != last
        here = app.probe_here()
        drawn = str(line.render()) if line.display else ""
        assert (here is None and not line.display) or (
            here.task in drawn and here.note[:20] in drawn
        )
        assert mine.note[:20] not in drawn or (here is not None and here.note == mine.note)
        await pilot.press("a")
        await pilot.pause()
        assert app.session.doc == last and mine.note[:20] in str(line.render())
