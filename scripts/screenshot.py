"""Redraw the README's screenshots, 120x36: docs/app.svg, the app on the bundled corpus with
the embedded model, at ` Black` of "the Black Forest" in the Danube article; and with
`compare`, docs/compare.svg: compare mode (`d`) over the runs of the bundled corpus in the
cache (the run set, where the chooser opens), at the biggest world-knowledge improvement
(`i` until there); with `tasks`, docs/tasks.svg: the `s` screen over the run set; with `depth` and
`context`, docs/depth.svg and docs/context.svg: the depth screen (`L`) and the context's
colours (`C`) at ` Hunter` of "Biden married Neilia Hunter, a student" (the probe).

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/screenshot.py [docs/app.svg]
    inspector compare --window 32 --window full --cache-dir /tmp/shots   # the two runs
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/screenshot.py compare docs/compare.svg /tmp/shots
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/screenshot.py tasks docs/tasks.svg CACHE
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/screenshot.py depth docs/depth.svg
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/screenshot.py context docs/context.svg
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from corpora import bundled_path, read_corpus
from inspector.files import default_cache_dir
from inspector.tui.app import InspectorApp
from inspector.tui.screens.pick_runs import PickRunsScreen
from inspector.tui.source import Scoring


def bundled_app(cache: Path) -> InspectorApp:
    """The app on the bundled corpus with the embedded model, leaving the reader's place be."""
    docs = [d for d in read_corpus([bundled_path()]) if d.text]
    app = InspectorApp(Scoring(docs, device="cpu"), "bundled samples", cache)
    app.save_place = lambda: None  # type: ignore[method-assign]  # the reader's place stays theirs
    return app


async def scored(app: InspectorApp) -> None:
    while app.scoring not in ("done", "failed"):
        await asyncio.sleep(0.2)


async def main(out: Path) -> None:
    app = bundled_app(default_cache_dir())
    docs = app.session.docs
    async with app.run_test(size=(120, 36)) as pilot:
        await scored(app)
        await pilot.pause()
        doc = next(i for i, d in enumerate(docs) if "danube" in d.id)
        at = docs[doc].text.index("Black Forest")
        app.session.goto(doc, app.session.rows[doc].token_at(at))
        app.refresh_view(tables=True)
        await pilot.pause(0.5)
        out.write_text(app.export_screenshot(title="inspector"))
    print(f"wrote {out}")


async def compare(out: Path, cache: Path) -> None:
    app = bundled_app(cache)
    async with app.run_test(size=(120, 36)) as pilot:
        await scored(app)
        await pilot.press("d")
        while app.compare_view is None:
            if isinstance(app.screen, PickRunsScreen):  # several runs: the run set as ticked
                await pilot.press("enter")
            await asyncio.sleep(0.2)
        await pilot.pause()
        for _ in range(200):  # the biggest improvement of a world-knowledge unit
            await pilot.press("i")
            unit = app.compare_view.unit_at(
                app.session.document.id, app.session.current, app.session.pos
            )
            if unit is not None and unit["task"] == "world_knowledge":
                break
        app.clear_notifications()
        await pilot.pause(0.5)
        out.write_text(app.export_screenshot(title="inspector: compare mode"))
    print(f"wrote {out}")


async def tasks(out: Path, cache: Path) -> None:
    """The `s` screen over the run set of the bundled corpus in `cache`."""
    app = bundled_app(cache)
    async with app.run_test(size=(120, 36)) as pilot:
        await scored(app)
        await pilot.press("s")
        while getattr(app.screen, "report", None) is None:
            await asyncio.sleep(0.2)
        app.clear_notifications()
        await pilot.pause(0.5)
        out.write_text(app.export_screenshot(title="inspector: loss by task (s)"))
    print(f"wrote {out}")


async def asked(out: Path, key: str) -> None:
    """The app at ` Hunter` of the Biden probe, `key` pressed and answered."""
    app = bundled_app(default_cache_dir())
    docs = app.session.docs
    async with app.run_test(size=(120, 36)) as pilot:
        await scored(app)
        doc = next(i for i, d in enumerate(docs) if d.id.endswith("probe-biden"))
        app.session.goto(doc, app.session.rows[doc].token_at(docs[doc].text.index(" Hunter")))
        app.refresh_view(tables=True)
        await pilot.pause()
        await pilot.press(key)
        view = app.query_one("#doc")
        for _ in range(600):
            if (key == "C" and view.mode == "context") or getattr(app.screen, "shown", None):
                break
            await asyncio.sleep(0.1)
        app.clear_notifications()
        await pilot.pause(0.5)
        what = {"L": "depth (L)", "C": "context (C)"}[key]
        out.write_text(app.export_screenshot(title=f"inspector: {what}"))
    print(f"wrote {out}")


if __name__ == "__main__":
    if sys.argv[1:2] in (["depth"], ["context"]):
        key = "L" if sys.argv[1] == "depth" else "C"
        asyncio.run(
            asked(Path(sys.argv[2] if len(sys.argv) > 2 else f"docs/{sys.argv[1]}.svg"), key)
        )
        sys.exit(0)
    if sys.argv[1:2] == ["tasks"]:
        where = Path(sys.argv[3]) if len(sys.argv) > 3 else default_cache_dir()
        asyncio.run(tasks(Path(sys.argv[2] if len(sys.argv) > 2 else "docs/tasks.svg"), where))
        sys.exit(0)
    if sys.argv[1:2] == ["compare"]:
        where = Path(sys.argv[3]) if len(sys.argv) > 3 else default_cache_dir()
        asyncio.run(compare(Path(sys.argv[2] if len(sys.argv) > 2 else "docs/compare.svg"), where))
    else:
        asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/app.svg")))
