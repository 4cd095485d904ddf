"""Every screen at 80x24, 120x36 and 200x50, as snapshots (issue 13, item 10).

A change that cuts a region at some size shows up here as a changed SVG; look at it with
`pytest --snapshot-report` before accepting it with `--snapshot-update`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from corpora import Document
from inspector.tui.annotating import AnnotateOptions
from inspector.tui.app import InspectorApp
from inspector.tui.source import Scoring

DOCS = [
    Document("biden", "Biden married Neilia Hunter, a student."),
    Document("danube", "The Danube flows into the Black Sea.\n\nIt is long."),
]
SIZES = [(80, 24), (120, 36), (200, 50)]


async def _until(predicate, timeout: float = 60) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def _app(model: Path, tmp_path: Path, annotate: bool) -> InspectorApp:
    options = AnnotateOptions(tmp_path / "labels.sqlite", "ana", "text") if annotate else None
    source = Scoring(DOCS, model_spec=str(model), device="cpu")
    return InspectorApp(source, "screens", tmp_path / "cache", annotate=options)


async def _report_ready(app: InspectorApp) -> None:
    await _until(lambda: getattr(app.screen, "shown", None) is not None)


SCREENS = {
    "main": (False, ["right", "right", "right"]),
    "annotate": (True, ["1"]),
    "help": (False, ["question_mark"]),
    "palette": (False, ["ctrl+p"]),
    "tasks": (False, ["s"]),
    "agreement": (True, ["1", "K"]),
    "search_prompt": (False, ["slash", *"the"]),
    "goto_prompt": (False, ["colon", *"2:3"]),
}


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen_snapshot(
    snap_compare, tiny_model_dir: Path, tmp_path: Path, screen: str, size: tuple[int, int]
) -> None:
    annotate, keys = SCREENS[screen]
    app = _app(tiny_model_dir, tmp_path, annotate)

    async def run_before(pilot) -> None:
        await _until(lambda: app.scoring in ("done", "failed"))
        await pilot.pause()
        # toasts are drawn per screen: those of the start (where labels go) cleared before
        # a key opens another screen, or they show through its edges, holding a tmp path
        app.clear_notifications()
        await pilot.pause(0.3)
        await pilot.press(*keys)
        if screen in ("tasks", "agreement"):
            await _report_ready(app)
        app.clear_notifications()
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
