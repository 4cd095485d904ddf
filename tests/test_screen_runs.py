"""The `s` screen over chosen runs, read back off the terminal (issue 43, items 2 and 3): three
runs of two tokenizers cached together; by default the two of one tokenizer in nats per
token, the third left out and named; D adds it and every loss turns to bits per byte. At
80x24, 120x36 and 200x50 a task, a run and its loss are in view together, by short names."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from test_app_compare import until

from corpora import Document
from inspector.lm.config import ScoreConfig
from inspector.run.request import score_or_load
from inspector.tui.app import InspectorApp
from inspector.tui.screens.pick_runs import PickRunsScreen
from inspector.tui.source import Scoring
from taggers.rules import load_rules
from terminal import Terminal, terminal

DOCS = [
    Document("biden", "Biden married Neilia Hunter, a student."),
    Document("danube", "The Danube flows into the Black Sea. It is 2,850 km long."),
]
SIZES = [(80, 24), (120, 36), (200, 50)]


def _check_losses(term: Terminal, app: InspectorApp, names: list[str]) -> None:
    """Every run's loss of the first task shown on a line with that task and run (long
    form), or on the task's line under a `loss <run>` header (wide form)."""
    from inspector.tui.screens.report import Table

    table = next(
        p for p in app.screen.report.parts if isinstance(p, Table) and p.narrow is not None
    )
    screen = term.text()
    lines = screen.splitlines()
    task = table.frame["task"][0]
    if all(f"loss {n}" in screen for n in names):  # wide: a column per run
        row = next(line for line in lines if re.search(rf"\b{task}\b", line))
        for n in names:
            assert f"{table.frame[f'loss {n}'][0]:.4f}" in row, (n, row)
        return
    long = table.narrow.filter(pl.col("task") == task)
    for run, loss in zip(long["run"], long["loss"], strict=True):
        hit = [x for x in lines if task in x and f" {run} " in x and f"{loss:.4f}" in x]
        assert hit, (task, run, f"{loss:.4f}", screen)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_s_screen_over_chosen_runs(
    tiny_family: list[Path], tiny_other_tokenizer: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, size: tuple[int, int],
) -> None:  # fmt: skip
    for folder in (tiny_family[1], tiny_other_tokenizer):
        score_or_load(DOCS, str(folder), "cpu", "auto", ScoreConfig(), load_rules(), tmp_path)
    app = InspectorApp(Scoring(DOCS, model_spec=str(tiny_family[0]), device="cpu"), "c", tmp_path)
    family = sorted([tiny_family[0].name, tiny_family[1].name])
    with terminal(monkeypatch, *size) as term:
        async with app.run_test(size=size) as pilot:
            await until(lambda: app.scoring == "done")
            app.clear_notifications()
            await pilot.press("s")
            await until(lambda: getattr(app.screen, "report", None) is not None)
            await pilot.pause(0.5)
            screen = term.text()
            # the runs that compare: one tokenizer, in nats per token; the third left out
            assert "loss in nats per token: the chosen runs share one tokenizer (A)" in screen
            assert "2 of 3 cached runs" in screen
            for name in family:
                assert name in screen, screen
            assert tiny_other_tokenizer.name not in screen.split("left out")[0]
            assert max(len(n) for n in family) < 20  # short names: no 70-cell name
            _check_losses(term, app, family)
            report = app.screen.report.text()
            assert "left out 1 cached run of another tokenizer" in report
            from textual.widgets import DataTable

            long = "run" in app.screen.query(DataTable).first().frame.columns  # type: ignore[attr-defined]
            wanted = [rf"\ball +{n} " for n in family] if long else [r"│\s+all\s+\d"]
            for _ in range(6):  # PgDn pages the long table first (its header stays), to its end
                if all(re.search(w, term.text()) for w in wanted):
                    break
                await pilot.press("pagedown")
                await pilot.pause(0.2)
            screen = term.text()
            assert all(re.search(w, screen) for w in wanted), screen
            # D: the chooser, every run ticked or not in plain characters
            await pilot.press("D")
            await until(lambda: isinstance(app.screen, PickRunsScreen))
            await pilot.pause(0.3)
            chooser = term.text()
            assert chooser.count("[x]") == 2 and chooser.count("[ ]") == 1, chooser
            await pilot.press("down", "down", "space", "enter")
            await until(lambda: not isinstance(app.screen, PickRunsScreen))
            await until(lambda: getattr(app.screen, "report", None) is not None)
            await pilot.pause(0.5)
            screen = term.text()
            assert "loss in bits per byte" in screen and "(A, B)" in screen, screen
            assert "3 of 3 cached runs" in screen
            names = list(app.screen.report.catalog.choose(app.screen.report.chosen).names)
            assert len(names) == 3 and max(len(n) for n in names) < 30
            _check_losses(term, app, names)
            assert "in nats per token" not in app.screen.report.text()
    # the choice is kept for the corpus
    from inspector.run.runsets import load_choice

    assert len(load_choice(tmp_path, app.corpus_key) or []) == 3
