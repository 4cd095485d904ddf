"""Nothing cut at 80x24 (issue 34, item 4): each panel's labels and values, each screen's
title and keys, read back from an emulated terminal (tests/terminal.py) at the smallest size
the README promises, and at 120x36 and 200x50."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from corpora import Document
from inspector.tui.annotating import AnnotateOptions
from inspector.tui.app import InspectorApp
from inspector.tui.source import Scoring
from terminal import Terminal, terminal

DOCS = [
    Document("biden", "Biden married Neilia Hunter, a student."),
    Document("danube", "The Danube flows into the Black Sea.\n\nIt is long."),
]
SIZES = [(80, 24), (120, 36), (200, 50)]


def _app(model: Path, tmp_path: Path, annotate: bool = False) -> InspectorApp:
    options = AnnotateOptions(tmp_path / "labels.sqlite", "ana", "text") if annotate else None
    source = Scoring(DOCS, model_spec=str(model), device="cpu")
    return InspectorApp(source, "fit", tmp_path / "cache", annotate=options)


async def _until(predicate, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def _panel(term: Terminal, title: str) -> str:
    """The text inside the bordered panel whose top border holds `title`, line by line."""
    rows = [term.row(y) for y in range(term.screen.lines)]
    for y, row in enumerate(rows):
        at = row.find(f"─ {title} ")
        if at < 0:
            continue
        left = row.rfind("╭", 0, at)
        right = row.find("╮", at)
        inside = []
        for below in rows[y + 1 :]:
            if below[left] == "╰":
                return "\n".join(inside)
            inside.append(below[left + 1 : right])
        return "\n".join(inside)
    raise AssertionError(f"no panel {title!r} on screen:\n" + "\n".join(rows))


def _words(text: str) -> list[str]:
    return text.split()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_panel_shows_all_it_must(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    app = _app(tiny_model_dir, tmp_path)
    with terminal(monkeypatch, *size) as term:
        async with app.run_test(size=size) as pilot:
            await _until(lambda: app.scoring == "done")
            app.clear_notifications()
            await pilot.pause(0.3)
            s = app.session
            # every target of the first document: the panels hold each of its figures whole
            for pos in range(len(s.current)):
                app.session.goto(0, pos)
                app.refresh_view()
                await pilot.pause()
                row = s.row()
                assert row is not None
                nxt = " ".join(_words(_panel(term, "next token")))
                for label in ("target", "rank", f"{row['rank']:,}", "p", "loss", "entropy"):
                    assert label in _words(nxt), f"pos {pos}: {label!r} not in {nxt!r}"
                assert repr(row["token"]) in nxt or "…" in nxt
                task = _words(_panel(term, "task"))
                want = [row["task"], "rule", row["task_reason"], "word", "entity",
                        row["ent_type"] or "-", "first" if row["word_initial"] else "continuation"]  # fmt: skip
                for label in want:
                    assert label in task, f"pos {pos}: {label!r} not in the task panel {task!r}"
            everything = s.task_summary(document_only=False)["task"].to_list()
            if size[1] >= 30:
                tasks = _panel(term, "loss by task (nats)")
                lines = [_words(line) for line in tasks.splitlines() if line.strip()]
                names = [line[0] for line in lines[1:]]
                assert names == [*everything, "all"], tasks  # every task and the `all` row
            else:  # a short screen gives the table's room to the candidates; `s` has it
                assert (
                    "loss by task (nats)" not in term.text()
                    and "─ s: loss by task ─" in term.text()
                )
                candidates = [
                    line for line in _panel(term, "next token").splitlines()
                    if line.split()[:1] and line.split()[0].isdigit()
                ]  # fmt: skip
                assert len(candidates) >= 8, term.text()
                await pilot.press("s")
                await pilot.pause(0.5)
                screen = term.text()
                for task in [*everything, "all"]:
                    assert task in screen, screen
                await pilot.press("escape")
                await pilot.pause()
            status = term.row(size[1] - 2)
            assert "1/2 biden" in status and f"{s.pos}/" in status and "f:task=-" in status
            footer = term.row(size[1] - 1)
            for key in ("? help", "q quit", "^p palette"):
                assert key in footer, footer
            assert app.model_forms[-1] in status, status  # the model's name, never cut
            if size[0] >= 120:  # the model's dtype and window too (cut only at 80 columns)
                assert "float32" in status and "64)" in status, status


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_annotation_footer_names_every_key(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    app = _app(tiny_model_dir, tmp_path, annotate=True)
    with terminal(monkeypatch, *size) as term:
        async with app.run_test(size=size) as pilot:
            await _until(lambda: app.scoring == "done" and app.labelling is not None)
            app.clear_notifications()
            await pilot.pause(0.3)
            footer = term.row(size[1] - 1)
            for key in ("⏎ accept", "space skip", "u undo", "n note", "a browse", "? help",
                        "q quit", "^p palette"):  # fmt: skip
                assert key in footer, footer
            labels = "1-4 label" if app.label_keys_compact else "1 grammar"
            assert labels in footer, footer
            assert app.label_keys_compact == (size[0] < 200)  # 137 columns for every name
            panel = " ".join(_words(_panel(term, "annotate")))
            for i, label in enumerate(app.labels, 1):  # the panel names every key's label
                assert f"{i} {label}" in panel, panel


NOTE = "the rule calls it arbitrary, but a reader who knows the family would guess it"


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_annotation_keeps_the_candidates_in_view(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    """At 80x24 the annotation panel keeps to four lines (a pending note to one), so the
    next-token panel below it still lists six candidates; `n` shows the note whole."""
    from textual.widgets import Input

    app = _app(tiny_model_dir, tmp_path, annotate=True)
    with terminal(monkeypatch, *size) as term:
        async with app.run_test(size=size) as pilot:
            await _until(lambda: app.scoring == "done" and app.labelling is not None)
            app.clear_notifications()
            await pilot.press("1", "space")  # one labelled grammar, one skipped
            await pilot.press("n")
            await pilot.pause()
            app.screen.query_one(Input).value = NOTE
            await pilot.press("enter")
            await pilot.pause(0.3)
            app.clear_notifications()
            await pilot.pause(0.3)
            panel = _panel(term, "annotate")
            candidates = [
                line for line in _panel(term, "next token").splitlines()
                if line.split()[:1] and line.split()[0].isdigit()
            ]  # fmt: skip
            if size[1] < 30:
                assert len(panel.splitlines()) == 4, panel  # bar, keys (2), note
                assert "(1)" not in panel  # the keys without counts: two lines
                assert "2/52, 1 skipped" in " ".join(_words(panel)), panel
                assert "note for the next label" in panel and "…" in panel, panel
                bottom = next(
                    (r for r in term.text().splitlines() if "╰─ text ·" in r), term.text()
                )
                assert "text · ana → labels.sqlite" in bottom, term.text()
                assert len(candidates) >= 5, term.text()
            else:  # room for all of it
                words = " ".join(_words(panel))
                assert "1 labelled, 1 skipped" in words and "n note · ⌫ back · a leave" in words
                assert NOTE.split()[-1] in words, panel
                assert len(candidates) >= 10, candidates
            await pilot.press("n")  # the pending note, whole, to edit
            await pilot.pause()
            assert app.screen.query_one(Input).value == NOTE
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("backspace", "backspace")  # back on the target labelled grammar
            await pilot.pause(0.3)
            panel = _panel(term, "annotate")
            said = [line for line in panel.splitlines() if "this target" in line]
            if size[1] < 30:
                assert said == [said[0]] and "this target: grammar" in said[0], panel
                assert len(panel.splitlines()) == 5, panel
            else:
                assert "labelled grammar (a new key replaces it)" in " ".join(_words(panel))


async def test_prompt_and_report_are_whole_at_80x24(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(tiny_model_dir, tmp_path)
    with terminal(monkeypatch, 80, 24) as term:
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(lambda: app.scoring == "done")
            await pilot.press("colon")
            await pilot.pause()
            screen = " ".join(_words(term.text().replace("│", " ")))
            question = "go to: document number (from 1) or id, then :pos (the table's, from 0)"
            assert question in screen, term.text()
            await pilot.press("escape", "s")
            await _until(lambda: getattr(app.screen, "shown", None) is not None)
            await pilot.pause()
            tasks = app.session.task_summary(document_only=False)["task"].to_list()

            def bars() -> list[str]:  # the tasks whose bar of the chart is on screen
                rows = [r.split("│")[1] for r in term.text().splitlines() if r.count("│") >= 2]
                return [r.split()[0] for r in rows if r.split() and r.split()[0] in tasks
                        and any(c in r for c in "█▏▎▍▌▋▊▉")]  # fmt: skip

            assert sorted(bars()) != sorted(tasks)  # the chart is below the tables
            for _ in range(4):  # reached by PageDown, though a table has the focus
                await pilot.press("pagedown")
            await pilot.pause()
            assert "loss contribution per task (nats per token" in term.text(), term.text()
            assert sorted(bars()) == sorted(tasks), term.text()


async def test_status_line_drops_a_long_id_before_the_model_name(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_id = "https://example.org/news/2024/03/a-rather-long-article-name.html"
    docs = [Document(long_id, "Biden married Neilia Hunter."), DOCS[1]]
    app = InspectorApp(Scoring(docs, model_spec=str(tiny_model_dir), device="cpu"), "web", tmp_path)
    with terminal(monkeypatch, 80, 24) as term:
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(lambda: app.scoring == "done")
            await pilot.pause()
            status = term.row(22)
            assert "example.org" not in status and " 1/2 " in status, status  # id gone, n/N kept
            assert status.rstrip().endswith(app.model_forms[-1]), status  # the name whole
            # a long task filter: the filters in short, then no corpus name, never the model
            app.session.task_filter = "world_knowledge"
            app.model_forms = (*app.model_forms[:-1], "SmolLM2-135M-Instruct")
            app.corpus_name = "multi-script-web.jsonl"
            app.refresh_status()
            await pilot.pause()
            status = term.row(22)
            assert "f:world_knowledge x>5" in status, status
            assert status.rstrip().endswith("SmolLM2-135M-Instruct"), status


async def test_report_tables_scroll_sideways_a_column_at_a_time(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inspector.tui.screens.report import ReportTable

    app = _app(tiny_model_dir, tmp_path)
    with terminal(monkeypatch, 80, 24) as term:
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(lambda: app.scoring == "done")
            await pilot.press("s")
            await _until(lambda: getattr(app.screen, "shown", None) is not None)
            await pilot.pause()
            grid = app.screen.query_one(ReportTable)
            columns = [str(c.label).strip() for c in grid.ordered_columns]
            assert grid.max_scroll_x > 0, "the table fits: nothing to test at this width"
            caption = grid.caption_text

            # a column cut at the edge shows only its first cells: the caption says more lie right
            def said() -> str:
                return " ".join(_words(term.text().replace("│", " ")))

            assert f"{caption} (→ more columns)" in said(), term.text()
            seen, presses = set(), 0
            while True:
                screen = term.text()
                seen |= {c for c in columns if c in screen}
                assert columns[0] in screen  # the rows' names stay while the rest scroll
                if grid.scroll_x >= grid.max_scroll_x:
                    break
                await pilot.press("right")
                await pilot.pause()
                presses += 1
                assert presses < len(columns), "more presses than columns"
            assert seen == set(columns), (seen, columns)
            assert f"{caption} (← more columns)" in said(), term.text()  # none right
            await pilot.press("left")
            await pilot.pause()
            assert 0 <= grid.scroll_x < grid.max_scroll_x


async def test_report_end_and_home_reach_a_tall_tables_last_and_first_rows(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table taller than the frame scrolls in itself: End shows its last row (and the
    report's bottom), Home its first, read from the screen."""
    import polars as pl

    from inspector.tui.screens.report import Note, Report, ReportScreen, Table

    frame = pl.DataFrame({"layer": [f"row {i}" for i in range(40)], "rank": list(range(40))})
    report = Report([Note("a tall table"), Table("every layer", frame), Note("the end note")])
    app = _app(tiny_model_dir, tmp_path)
    with terminal(monkeypatch, 80, 24) as term:
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(lambda: app.scoring == "done")
            app.push_screen(ReportScreen("tall", lambda: report))
            await _until(lambda: getattr(app.screen, "shown", None) is not None)
            await pilot.pause()
            assert "row 0 " in term.text() and "row 39" not in term.text(), term.text()
            await pilot.press("end")
            await pilot.pause()
            assert "row 39" in term.text() and "the end note" in term.text(), term.text()
            await pilot.press("home")
            await pilot.pause()
            assert "row 0 " in term.text() and "a tall table" in term.text(), term.text()


@pytest.mark.parametrize("width", [36, 60])
async def test_candidates_align_in_cells_whatever_their_script(
    monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    """Each candidate's bar and probability start in the same cell on every row: a lone
    combining mark (the virama ्) shows as its escape, wide characters count two cells, and
    a token too long is cut at a cell with …."""
    from textual.app import App, ComposeResult

    from inspector import visible
    from inspector.tui.widgets.next_token import NextTokenPanel

    visible.spacing_marks_take_a_cell()  # as the app does when it starts
    tokens = ["\u094d", "日本語", " a", "\u0915\u093e", "字" * 30, "\ufe0f"]
    row = {"nll": 2.0, "prob": 0.13, "rank": 1, "entropy": 3.0, "token": tokens[0],
           "token_id": 0, "top_ids": list(range(len(tokens))), "top_tokens": tokens,
           "top_probs": [0.3, 0.2, 0.1, 0.05, 0.02, 0.01]}  # fmt: skip

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield NextTokenPanel()

    with terminal(monkeypatch, width, 20) as term:
        app = One()
        async with app.run_test(size=(width, 20)) as pilot:
            app.query_one(NextTokenPanel).show(row)
            await pilot.pause()
            rows = [term.cells(y) for y in range(20)]
            lines = ["".join(r) for r in rows]
            listed = [(y, r) for y, r in enumerate(rows) if "".join(r[1:4]).strip().isdigit()]
            assert len(listed) == len(tokens), "\n".join(lines)
            ends = {y: next(x for x in range(len(r)) if r[x] == "%") for y, r in listed}
            assert len(set(ends.values())) == 1, "\n".join(lines)  # one column for every row
            text = "\n".join(lines)
            assert "'\\u094d'" in text and "'\\ufe0f'" in text and "'日本語'" in text
            assert "…" in text  # the long one, cut


def joined_part(piece: str) -> bool:
    """A continuation line of a broken path (no spaces in it)."""
    return bool(piece) and " " not in piece


async def test_a_notice_leaves_the_status_line_and_keeps_a_path_whole(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 43, item 4: at 80x24 a notice covered the status line and broke a path
    mid-word; now it sits above the status line, and a cache path stays on one line."""
    app = _app(tiny_model_dir, tmp_path)
    path = "/home/someone/.cache/inspector/tables/0123456789abcdef0123456789abcdef.parquet"
    with terminal(monkeypatch, 80, 24) as term:
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await _until(lambda: app.scoring == "done")
            app.clear_notifications()
            await pilot.pause(0.3)
            status = term.row(22)
            app.notify(f"a damaged cache file was rebuilt: {path}", timeout=30)
            await pilot.pause(1.0)
            assert term.row(22) == status and "? help" in term.row(23)
            lines = [x for x in term.text().splitlines() if "▌" in x]  # the notice's rows
            # broken only after a path's separator, never inside a name
            pieces = [x.split("▌", 1)[1].strip().rstrip("│╯─").strip() for x in lines]
            joined = "".join(p for p in pieces if p.startswith("/") or joined_part(p))
            assert path in joined, pieces
            broken = [p for p in pieces[:-1] if "/" in p]  # each cut after a separator
            assert broken and all(p.endswith(("/", ".", "_", "-")) for p in broken), pieces
