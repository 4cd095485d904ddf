"""`C` in the app (issue 35): the context of the target under the cursor coloured by its
attribution, read back from the emulated screen: the panel lists the largest contributors
with their distance back, the legend names every bucket, each context character has its
bucket's colour and the text after the target none; moving the cursor or `C` turns it off."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from corpora import Document
from inspector.tables.buckets import CONTEXT_LABELS
from inspector.tui.app import InspectorApp
from inspector.tui.source import Scoring
from inspector.tui.widgets.styles import DELTA_COLOURS
from terminal import terminal

DOCS = [Document("biden", "Biden married Neilia Hunter, a student. The cat sat on the mat.")]


async def _until(predicate, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_context_key_colours_what_the_prediction_leans_on(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    monkeypatch.setenv("COLORTERM", "truecolor")  # colours drawn exactly, read back as hex
    app = InspectorApp(Scoring(DOCS, model_spec=str(tiny_model_dir), device="cpu"), "ctx", tmp_path)
    view = None
    with terminal(monkeypatch, *size) as term:
        async with app.run_test(size=size) as pilot:
            await _until(lambda: app.scoring == "done")
            app.clear_notifications()
            app.session.goto(0, 6)
            app.refresh_view()
            await pilot.press("C")
            view = app.query_one("#doc")
            await _until(lambda: view.mode == "context")
            await pilot.pause()
            screen = term.text()
            row = app.session.row()
            rows = app.session.current
            assert f"context {row['token']!r} (gradient x input" in screen, screen
            legend = " ".join(term.row(0).split())
            whole = all(label in legend for label in CONTEXT_LABELS)
            signs = "helps ++ + ~0 - -- hurts" in legend  # where the names do not fit
            assert whole or (size[0] < 120 and signs), legend  # every bucket, named
            texts = rows.table["token"].to_list()
            buckets = view.context_bucket
            top = [j for j in range(len(buckets)) if buckets[j] in (0, 4)]
            assert top, buckets  # the largest contributor is in an outer bucket
            for j in top:  # listed with its distance back
                assert f"{texts[j]!r} {row['pos'] - j} back" in " ".join(screen.split()), screen
            # each character of the text has its target's colour: the bucket's before the
            # target, none after it
            text = DOCS[0].text
            line = next(y for y in range(size[1]) if term.row(y).lstrip(" │").startswith(text[:20]))
            x0 = term.row(line).index(text[:20])
            cells = term.screen.buffer[line]
            # read as drawn: the exact colour in truecolor, its nearest in 256 or 16 colours
            # (a terminal emulator reads the 16 by name); one bucket, one colour
            seen: dict[int, set[str]] = {}
            after: set[str] = set()
            for j in range(len(texts)):
                a, b = int(rows.char_start[j]), int(rows.char_end[j])
                for c in range(a, min(b, 60)):
                    if text[c] == " " or x0 + c >= size[0] - 40:
                        continue
                    bg = cells[x0 + c].bg
                    if j < row["pos"]:
                        seen.setdefault(int(buckets[j]), set()).add(bg)
                    elif j > row["pos"]:
                        after.add(bg)
            assert all(len(colours) == 1 for colours in seen.values()), seen
            drawn = {bucket: next(iter(colours)) for bucket, colours in seen.items()}
            assert len(set(drawn.values())) == len(drawn), drawn  # buckets told apart
            assert not after & set(drawn.values()), (after, drawn)  # after it: none of them
            if all(re.fullmatch("[0-9a-f]{6}", c) for c in drawn.values()):
                assert drawn == {b: DELTA_COLOURS[b].lstrip("#") for b in drawn}, drawn
            await pilot.press("l")  # another target: the colours were not of its context
            await pilot.pause()
            assert view.mode == "loss" and "context " not in term.text().split("\n")[1]
            await pilot.press("C")
            await _until(lambda: view.mode == "context")
            await pilot.press("C")
            await pilot.pause()
            assert view.mode == "loss" and not app.query_one("#context").display
