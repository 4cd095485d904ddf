"""Every key of the README's key tables does what its sentence says (issue 34): the tables
are read from README.md, each row has a check here that presses the keys in a running app
and looks at what changed; a row added to the README without a check fails the test."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from corpora import Document, bundled_path, read_corpus
from inspector.tui.annotating import AnnotateOptions
from inspector.tui.app import InspectorApp
from inspector.tui.screens.examples import ExamplesScreen
from inspector.tui.screens.help import HelpScreen
from inspector.tui.screens.overview import OverviewScreen
from inspector.tui.screens.pick_runs import PickRunsScreen
from inspector.tui.screens.prompt import PromptScreen
from inspector.tui.screens.report import ReportScreen
from inspector.tui.screens.write import WriteScreen
from inspector.tui.source import Scoring
from inspector.tui.widgets.document_view import DocumentView
from inspector.tui.widgets.legend import Legend

README = Path(__file__).resolve().parent.parent / "README.md"
PROBE = next(d for d in read_corpus([bundled_path() / "probes.jsonl"]) if d.id == "probe-world")
DOCS = [
    Document("biden", "Biden married Neilia Hunter, a student. The cat sat on the mat."),
    Document("danube", "The Danube flows into the Black Sea.\n\nIt is long. The end came."),
    PROBE,
]


def key_tables() -> dict[str, list[tuple[str, str]]]:
    """(keys, sentence) of each row of the README's key tables: the app's and annotation's."""
    tables: dict[str, list[tuple[str, str]]] = {}
    section = ""
    rows: list[tuple[str, str]] | None = None
    for line in README.read_text().splitlines():
        if line.startswith("#"):
            section = "annotate" if "inspector annotate" in line else section or "browse"
        if line.startswith("| keys | action |"):
            rows = tables.setdefault(section or "browse", [])
        elif rows is not None and line.startswith("| ") and not line.startswith("| ---"):
            keys, sentence = [c.strip() for c in line.strip("|").split("|", 1)]
            rows.append((keys, sentence.replace("\\|", "|")))
        elif rows is not None and not line.startswith("|"):
            rows = None
    return tables


async def until(predicate: Callable[[], bool], timeout: float = 120) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


Check = Callable[[Any, InspectorApp], Awaitable[None]]
BROWSE: dict[str, Check] = {}
ANNOTATE: dict[str, Check] = {}
COMPARE: dict[str, Check] = {}


def check(table: dict[str, Check], keys: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        table[keys] = fn
        return fn

    return register


def status(app: InspectorApp) -> str:
    return str(app.query_one("#status").render())


async def at(pilot: Any, app: InspectorApp, doc: int, pos: int = 0) -> None:
    app.session.goto(doc, pos)
    app.refresh_view(tables=True)
    await pilot.pause()


async def close(pilot: Any, app: InspectorApp) -> None:
    await pilot.press("escape")
    await until(lambda: not isinstance(app.screen, (ReportScreen, OverviewScreen, ExamplesScreen,
                                                    HelpScreen, PromptScreen, WriteScreen)))  # fmt: skip


# -- browsing ---------------------------------------------------------------------------
@check(BROWSE, "`right`/`l`, `left`/`h`")
async def _steps(pilot: Any, app: InspectorApp) -> None:
    await at(pilot, app, 0, 3)
    for key, delta in (("right", 1), ("l", 1), ("left", -1), ("h", -1)):
        before = app.session.pos
        await pilot.press(key)
        assert app.session.pos == before + delta, key


@check(BROWSE, "`w`, `b`")
async def _words(pilot: Any, app: InspectorApp) -> None:
    await at(pilot, app, 0, 0)
    s = app.session
    start = s.row()["word_start"]
    await pilot.press("w")
    row = s.row()
    assert row["word_start"] > start and row["word_initial"]  # the first piece of the next word
    await pilot.press("b")
    assert s.row()["word_start"] == start and s.pos == 0


@check(BROWSE, "`]`/`down`, `[`/`up`")
async def _documents(pilot: Any, app: InspectorApp) -> None:
    await at(pilot, app, 0)
    for key, doc in (("]", 1), ("[", 0), ("down", 1), ("up", 0)):
        await pilot.press(key)
        assert app.session.doc == doc, key


@check(BROWSE, "`home`/`g`, `end`/`G`")
async def _ends(pilot: Any, app: InspectorApp) -> None:
    await at(pilot, app, 0, 4)
    last = len(app.session.current) - 1
    for key, pos in (("end", last), ("home", 0), ("G", last), ("g", 0)):
        await pilot.press(key)
        assert app.session.pos == pos, key


@check(BROWSE, "`t`, then `f` / `F`")
async def _task_jumps(pilot: Any, app: InspectorApp) -> None:
    s = app.session
    await at(pilot, app, 0, 0)
    while s.row()["task"] == s.tasks()[0]:  # the first press takes the task here, not the first
        await pilot.press("l")
    here, pos = s.row()["task"], s.pos
    await pilot.press("t")
    assert s.task_filter == here and f"f:task={here}" in status(app)
    tasks = s.current.table["task"].to_list()
    if here in tasks[pos + 1 :]:
        await pilot.press("f")
        assert s.pos == tasks.index(here, pos + 1) and s.row()["task"] == here
        await pilot.press("F")
        assert s.pos == pos
    seen = {here}
    for _ in s.tasks():  # then cycles through the tasks and none
        await pilot.press("t")
        seen.add(s.task_filter)
    assert seen == {*s.tasks(), None}


@check(BROWSE, "`x` / `X`, `+` / `-`")
async def _loss_jumps(pilot: Any, app: InspectorApp) -> None:
    s = app.session
    await at(pilot, app, 0, 0)
    threshold = s.loss_threshold
    await pilot.press("plus")
    assert s.loss_threshold == threshold + 1 and f"x:loss>{threshold + 1:g}" in status(app)
    await pilot.press("minus", "minus")
    assert s.loss_threshold == threshold - 1
    s.loss_threshold = float(s.current.table["nll"].median())
    nll = s.current.table["nll"].to_list()
    above = [i for i, v in enumerate(nll) if v > s.loss_threshold]
    await pilot.press("x")
    assert s.pos == next(i for i in above if i > 0)
    first = s.pos
    await pilot.press("x", "X")
    assert s.pos == first


@check(BROWSE, "`o` / `O`")
async def _outside(pilot: Any, app: InspectorApp) -> None:
    s = app.session
    await at(pilot, app, 0, 0)
    ranks = s.current.table["rank"].to_list()
    outside = [i for i, r in enumerate(ranks) if r > s.top_k and i > 0]
    await pilot.press("o")
    assert s.pos == outside[0] and s.row()["rank"] > s.top_k
    if len(outside) > 1:
        await pilot.press("o", "O")
        assert s.pos == outside[0]


@check(BROWSE, "`/`, `n` / `N`")
async def _search(pilot: Any, app: InspectorApp) -> None:
    s = app.session
    await at(pilot, app, 0, 0)
    await pilot.press("slash", *"the", "enter")
    text = s.document.text.lower()
    found = [(s.doc, s.row()["char_start"])]
    await pilot.press("n")
    found.append((s.doc, s.row()["char_start"]))
    assert found[1] != found[0]
    assert "the" in s.docs[s.doc].text.lower()
    await pilot.press("N")
    assert (s.doc, s.row()["char_start"]) == found[0] and "the" in text


@check(BROWSE, "`:`")
async def _goto(pilot: Any, app: InspectorApp) -> None:
    await pilot.press("colon", *"2:3", "enter")
    assert (app.session.doc, app.session.pos) == (1, 3)
    assert "2/3 danube" in status(app) and "3/" in status(app)
    await pilot.press("colon", *"biden:2", "enter")  # or its id
    assert (app.session.doc, app.session.pos) == (0, 2)


@check(BROWSE, "`c`")
async def _colour(pilot: Any, app: InspectorApp) -> None:
    view = app.query_one(DocumentView)
    assert view.mode == "loss" and "loss" in str(app.query_one(Legend).render())
    await pilot.press("c")
    assert view.mode == "rank" and "top-1" in str(app.query_one(Legend).render()).lower()
    await pilot.press("c")
    assert view.mode == "loss"


@check(BROWSE, "`s`")
async def _tasks_screen(pilot: Any, app: InspectorApp) -> None:
    await pilot.press("s")
    await until(lambda: isinstance(app.screen, ReportScreen) and app.screen.shown is not None)
    shown = app.screen.shown  # type: ignore[attr-defined]
    assert "loss by task" in shown and "loss contribution per task" in shown
    assert "1 run chosen of 1 cached" in shown  # which runs, and each one's full settings
    await pilot.press("D")  # the run chooser, from the s screen: one run cached, nothing to choose
    assert any("only one run" in str(n.message) for n in app._notifications)
    await close(pilot, app)


@check(BROWSE, "click")
async def _click(pilot: Any, app: InspectorApp) -> None:
    await at(pilot, app, 0, 0)
    await pilot.click(DocumentView, offset=(7, 0))  # the view's padding is one cell
    assert app.session.pos == app.session.current.token_at(6)


@check(BROWSE, "`p`")
async def _ask(pilot: Any, app: InspectorApp) -> None:
    await at(pilot, app, 0, 4)
    await pilot.press("p")
    assert isinstance(app.screen, PromptScreen)
    await pilot.press(*"Jill | Smith", "enter")
    await until(lambda: isinstance(app.screen, ReportScreen) and app.screen.shown is not None)
    shown = app.screen.shown  # type: ignore[attr-defined]
    lead = " " if app.session.row()["token"].startswith(" ") else ""
    for word in (f"{lead}Jill", f"{lead}Smith"):  # each takes the target's leading space
        assert repr(word) in shown
    assert "the text's" in shown and "nll" in shown and "rank" in shown and "pieces" in shown
    await close(pilot, app)


@check(BROWSE, "`P`")
async def _probe(pilot: Any, app: InspectorApp) -> None:
    await at(pilot, app, 2)
    await pilot.press("P")
    await until(lambda: isinstance(app.screen, ReportScreen) and app.screen.shown is not None)
    shown = app.screen.shown  # type: ignore[attr-defined]
    assert "' Baku'" in shown and "expected" in shown and "foil" in shown
    await close(pilot, app)


@check(BROWSE, "`L`")
async def _depth(pilot: Any, app: InspectorApp) -> None:
    await at(pilot, app, 0, 2)
    row = app.session.row()
    await pilot.press("L")
    await until(lambda: isinstance(app.screen, ReportScreen) and app.screen.shown is not None)
    shown = app.screen.shown  # type: ignore[attr-defined]
    layers = app.source.loaded.model.config.num_hidden_layers  # type: ignore[attr-defined]
    assert "the true token at each layer" in shown and f"target {row['token']!r}" in shown
    body = [line.split() for line in shown.splitlines() if line.split()[:1] == [str(layers)]]
    assert body and body[-1][1] == f"{row['rank']:,}"  # the last layer: the model's own rank
    await close(pilot, app)


@check(BROWSE, "`C`")
async def _context(pilot: Any, app: InspectorApp) -> None:
    await at(pilot, app, 0, 4)
    row = app.session.row()
    view = app.query_one("#doc")
    await pilot.press("C")
    await until(lambda: view.mode == "context")
    panel = str(app.query_one("#context").render())
    assert f"context {row['token']!r} (gradient x input" in panel and " back " in panel, panel
    assert "helps" in str(app.query_one("#legend").render())
    assert (view.context_bucket[row["pos"] :] == -1).all()  # nothing from the target on
    await pilot.press("C")
    assert view.mode != "context" and not app.query_one("#context").display


@check(BROWSE, "`m`, `M`")
async def _write(pilot: Any, app: InspectorApp) -> None:
    await pilot.press("m")
    assert isinstance(app.screen, WriteScreen)
    await pilot.press(*"My own text.", "ctrl+s")
    await until(
        lambda: app.session.document.id == "your text 1" and app.session.current is not None
    )
    assert app.session.document.text == "My own text."
    out = app.cache_dir.parent / "mine.jsonl"
    await pilot.press("M")
    assert isinstance(app.screen, PromptScreen)
    app.screen.query_one("Input").value = str(out)  # type: ignore[attr-defined]
    await pilot.press("enter")
    await until(out.exists)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [d["text"] for d in lines] == ["My own text."]
    await pilot.press("M")
    app.screen.query_one("Input").value = str(out)  # type: ignore[attr-defined]
    await pilot.press("enter")
    await pilot.pause()
    assert out.read_text().count("My own text.") == 1  # only texts not in it yet
    await at(pilot, app, 0)


@check(BROWSE, "`v`")
async def _overview(pilot: Any, app: InspectorApp) -> None:
    await at(pilot, app, 0)
    await pilot.press("v")
    await until(lambda: isinstance(app.screen, OverviewScreen))
    await pilot.pause()
    grid = app.screen.query_one("DataTable")
    columns = " ".join(str(c.label) for c in grid.columns.values())  # type: ignore[attr-defined]
    for name in ("tokens", "mean_loss", "grammar", "1-10", "11-100", "101-1000", ">1000"):
        assert name in columns.split(), columns
    await pilot.press("right", "s")  # arrows pick a column (tokens), s sorts by it
    await pilot.pause()
    tokens = [int(str(grid.get_row_at(i)[1]).replace(",", "")) for i in range(grid.row_count)]  # type: ignore[attr-defined]
    assert tokens == sorted(tokens) or tokens == sorted(tokens, reverse=True)
    chosen = str(grid.get_row_at(1)[0])  # type: ignore[attr-defined]
    grid.move_cursor(row=1)  # type: ignore[attr-defined]
    await pilot.press("enter")  # Enter opens the document of the row
    await until(lambda: not isinstance(app.screen, OverviewScreen))
    assert app.session.document.id == chosen


@check(BROWSE, "`z`")
async def _examples(pilot: Any, app: InspectorApp) -> None:
    await at(pilot, app, 0, 1)
    task = app.session.row()["task"]
    app.session.task_filter = None
    await pilot.press("z")
    await until(lambda: isinstance(app.screen, ExamplesScreen))
    await pilot.pause()
    assert task in app.screen.title_text or task in str(app.screen.query_one("DataTable").rows)  # type: ignore[attr-defined]
    await pilot.press("enter")  # goes there
    await until(lambda: not isinstance(app.screen, ExamplesScreen))
    assert app.session.row()["task"] == task


@check(BROWSE, "`a`")
async def _annotate_toggle(pilot: Any, app: InspectorApp) -> None:
    app.session.goto(1, 3)  # browsing somewhere the annotation queue does not start
    await pilot.press("a")
    await until(lambda: app.mode == "annotate" and app.labelling is not None)
    assert "ANNOTATE" in status(app) and app.labelling.current() != (1, 3)
    await pilot.press("a")
    assert app.mode == "browse" and "ANNOTATE" not in status(app)
    assert (app.session.doc, app.session.pos) == (1, 3)  # back where the reader was


@check(BROWSE, "`K`")
async def _agreement(pilot: Any, app: InspectorApp) -> None:
    await pilot.press("K")
    await until(lambda: isinstance(app.screen, ReportScreen) and app.screen.shown is not None)
    shown = app.screen.shown  # type: ignore[attr-defined]
    assert "kappa" in shown.lower() or "no labels" in shown.lower()
    await close(pilot, app)


@check(BROWSE, "`?`, `q`")
async def _help_quit(pilot: Any, app: InspectorApp) -> None:
    await pilot.press("question_mark")
    assert isinstance(app.screen, HelpScreen)
    await close(pilot, app)
    await pilot.press("q")
    await until(lambda: app._exit_renderables is not None or not app.is_running)


# -- compare mode ----------------------------------------------------------------------
@check(COMPARE, "`d`")
async def _compare(pilot: Any, app: InspectorApp) -> None:
    assert app.comparing and app.query_one(DocumentView).mode == "change"
    await pilot.press("d")
    assert not app.comparing
    await pilot.press("d")  # more than two runs cached: choose which
    await until(lambda: isinstance(app.screen, PickRunsScreen) or app.comparing)
    if isinstance(app.screen, PickRunsScreen):
        await pilot.press("enter")
    await until(lambda: app.comparing and app.compare_view is not None)
    await pilot.press("D")
    await until(lambda: isinstance(app.screen, PickRunsScreen))
    await pilot.press("escape")


@check(COMPARE, "`T`")
async def _pages(pilot: Any, app: InspectorApp) -> None:
    from inspector.tui.widgets.change_table import ChangeTable

    table = app.query_one(ChangeTable)
    first = table.page
    await pilot.press("T")
    assert table.page != first


@check(COMPARE, "`i` / `I`, `r` / `R`")
async def _changes(pilot: Any, app: InspectorApp) -> None:
    view, s = app.compare_view, app.session
    assert view is not None
    for key, back, kind in (("i", "I", "improvement"), ("r", "R", "regression")):
        await pilot.press(key)
        first = (s.doc, s.pos)
        await pilot.press(key)
        second = (s.doc, s.pos)
        assert second != first, kind
        await pilot.press(back)
        assert (s.doc, s.pos) == first, kind


@check(COMPARE, "`y`, then `e` / `E`")
async def _trends(pilot: Any, app: InspectorApp) -> None:
    view, s = app.compare_view, app.session
    assert view is not None and view.trends
    await pilot.press("y")
    chosen = view.trend_filter
    assert chosen in view.trends and f"e:trend={chosen}" in status(app)
    await at(pilot, app, 0, 0)
    await pilot.press("e")
    first = (s.doc, s.pos)
    assert first != (0, 0)
    await pilot.press("e")
    assert (s.doc, s.pos) != first
    await pilot.press("E")
    assert (s.doc, s.pos) == first


# -- annotation mode -------------------------------------------------------------------
@check(ANNOTATE, "`1` grammar, `2` world knowledge, `3` punctuation, `4` arbitrary")
async def _labels(pilot: Any, app: InspectorApp) -> None:
    lab = app.labelling
    assert lab is not None and app.labels[:4] == ["grammar", "world_knowledge", "punctuation",
                                                  "arbitrary"]  # fmt: skip
    for key, label in zip("1234", app.labels, strict=False):
        target = app.session.pos
        await pilot.press(key)
        assert app.session.pos != target  # on to the next one to label
        assert lab.progress().per_label.get(label, 0) >= 1


@check(ANNOTATE, "`enter`")
async def _accept(pilot: Any, app: InspectorApp) -> None:
    task = app.session.row()["task"]
    before = app.labelling.progress().per_label.get(task, 0)  # type: ignore[union-attr]
    await pilot.press("enter")
    assert app.labelling.progress().per_label.get(task, 0) == before + 1  # type: ignore[union-attr]


@check(ANNOTATE, "`space`")
async def _skip(pilot: Any, app: InspectorApp) -> None:
    before = app.labelling.progress().skipped  # type: ignore[union-attr]
    await pilot.press("space")
    assert app.labelling.progress().skipped == before + 1  # type: ignore[union-attr]


@check(ANNOTATE, "`u`")
async def _undo(pilot: Any, app: InspectorApp) -> None:
    lab = app.labelling
    assert lab is not None
    await pilot.press("1")
    before = lab.progress()
    await pilot.press("space")  # a skip after the label: u undoes the skip, then the label
    await pilot.press("u")
    assert (lab.progress().labelled, lab.progress().skipped) == (before.labelled, before.skipped)
    await pilot.press("u")
    assert lab.progress().labelled == before.labelled - 1
    import sqlite3

    with sqlite3.connect(app.store.path) as db:  # type: ignore[union-attr]
        undone = db.execute("SELECT count(*) FROM labels WHERE undone IS NOT NULL").fetchone()
    assert undone[0] == 2  # the rows are kept, marked undone


@check(ANNOTATE, "`n`")
async def _note(pilot: Any, app: InspectorApp) -> None:
    await pilot.press("n")
    assert isinstance(app.screen, PromptScreen)
    await pilot.press(*"odd one", "enter")
    await pilot.pause()
    lab = app.labelling
    assert lab is not None and lab.pending_note == "odd one"  # kept for this target's label
    await pilot.press("1")
    import sqlite3

    with sqlite3.connect(app.store.path) as db:  # type: ignore[union-attr]
        notes = [r[0] for r in db.execute("SELECT note FROM labels WHERE undone IS NULL")]
    assert "odd one" in notes


@check(ANNOTATE, "`backspace`")
async def _back(pilot: Any, app: InspectorApp) -> None:
    labelled_at = (app.session.doc, app.session.pos)
    await pilot.press("1")
    assert (app.session.doc, app.session.pos) != labelled_at
    await pilot.press("backspace")
    assert (app.session.doc, app.session.pos) == labelled_at
    given = app.labelling.given()  # type: ignore[union-attr]
    assert given is not None and given["label"] == "grammar"  # and it says what it got


@check(ANNOTATE, "`a`")
async def _leave(pilot: Any, app: InspectorApp) -> None:
    await pilot.press("a")
    assert app.mode == "browse"
    await pilot.press("slash", *"Danube", "enter")  # where n is search again
    await pilot.pause()
    await pilot.press("n")
    assert app.mode == "browse" and app.session.doc == 1


def test_every_readme_key_row_has_its_check() -> None:
    tables = key_tables()
    assert set(tables) == {"browse", "annotate"}
    assert set(dict(tables["browse"])) == {*BROWSE, *COMPARE}
    assert set(dict(tables["annotate"])) == set(ANNOTATE)


async def _run(app: InspectorApp, checks: dict[str, Check], rows: list[tuple[str, str]],
               ready: Callable[[], bool], size: tuple[int, int] = (120, 36)) -> None:  # fmt: skip
    async with app.run_test(size=size) as pilot:
        await until(ready)
        await pilot.pause()
        for keys, sentence in rows:
            if keys in checks:
                try:
                    await checks[keys](pilot, app)
                except AssertionError as e:
                    raise AssertionError(f"README row {keys}: {sentence!r}: {e}") from e


async def test_browsing_keys_do_what_the_readme_says(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # where `a` and K keep labels
    monkeypatch.chdir(tmp_path)
    app = InspectorApp(Scoring(DOCS, model_spec=str(tiny_model_dir), device="cpu"), "keys",
                       tmp_path / "cache")  # fmt: skip
    await _run(app, BROWSE, key_tables()["browse"], lambda: app.scoring == "done")


async def test_compare_keys_do_what_the_readme_says(
    tiny_family: list[Path], tmp_path: Path
) -> None:
    source = Scoring(DOCS[:2], model_spec=str(tiny_family[0]), device="cpu",
                     compare_with=tuple(map(str, tiny_family[1:])))  # fmt: skip
    app = InspectorApp(source, "keys", tmp_path / "cache")
    await _run(app, COMPARE, key_tables()["browse"], lambda: app.compare_view is not None)


async def test_annotation_keys_do_what_the_readme_says(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    options = AnnotateOptions(tmp_path / "labels.sqlite", "ana", "text")
    app = InspectorApp(Scoring(DOCS[:2], model_spec=str(tiny_model_dir), device="cpu"), "keys",
                       tmp_path / "cache", annotate=options)  # fmt: skip
    await _run(app, ANNOTATE, key_tables()["annotate"],
               lambda: app.scoring == "done" and app.labelling is not None)  # fmt: skip


@pytest.mark.parametrize("section", ["browse", "annotate"])
def test_the_readme_tables_are_read_whole(section: str) -> None:
    rows = key_tables()[section]
    assert len(rows) >= 7 and all(re.search(r"`|click", k) for k, _ in rows)
