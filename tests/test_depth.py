"""The depth screen (issue 35): `L` shows the logit lens at the target under the cursor, a
row per layer whose last is the model's own prediction, computed off the event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from corpora import Document
from inspector.run.depth import target_depth
from inspector.run.tokens import TableScorer
from inspector.tui.app import InspectorApp
from inspector.tui.screens.report import ReportScreen
from inspector.tui.source import Scoring
from terminal import terminal

DOCS = [Document("biden", "Biden married Neilia Hunter, a student.")]


def test_the_depth_of_a_target_ends_in_its_scored_prediction(tiny_lm) -> None:
    table = TableScorer(tiny_lm).score(DOCS)
    tokens = table["token_id"].to_list()
    for row in table.iter_rows(named=True):
        depth = target_depth(tiny_lm, tokens, row["pos"], row["ctx_len"])
        layers = depth.layers
        assert layers["layer"].to_list() == list(
            range(1, tiny_lm.model.config.num_hidden_layers + 1)
        )
        assert layers["rank"][-1] == row["rank"] and abs(layers["nll"][-1] - row["nll"]) < 1e-5
        assert np.allclose(layers["p"], np.exp(-layers["nll"]))
        ranks = layers["rank"].to_list()
        assert depth.first_top1 == (ranks.index(1) + 1 if 1 in ranks else 0)
        assert depth.settled == 0 or all(r == 1 for r in ranks[depth.settled - 1 :])
        bars = [len(b) for b in layers["rank by layer"]]  # a better rank, a bar as long or longer
        for (ra, a), (rb, b) in zip(sorted(zip(ranks, bars, strict=True)),
                                    sorted(zip(ranks, bars, strict=True))[1:], strict=False):  # fmt: skip
            assert ra == rb or a >= b


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
async def test_L_opens_the_depth_screen_at_the_cursor(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    app = InspectorApp(Scoring(DOCS, model_spec=str(tiny_model_dir), device="cpu"), "depth",
                       tmp_path)  # fmt: skip
    with terminal(monkeypatch, *size) as term:
        async with app.run_test(size=size) as pilot:
            for _ in range(1200):
                if app.scoring == "done":
                    break
                await asyncio.sleep(0.05)
            app.session.goto(0, 3)
            app.refresh_view()
            row = app.session.row()
            await pilot.press("L")
            for _ in range(1200):
                if isinstance(app.screen, ReportScreen) and app.screen.shown is not None:
                    break
                await asyncio.sleep(0.05)
            shown = app.screen.shown  # type: ignore[attr-defined]
            assert f"target {row['token']!r}" in shown and "the true token at each layer" in shown
            await pilot.pause(0.3)
            screen = term.text()
            assert "depth: the logit lens at" in screen and "layer" in screen
            assert f"{row['rank']:,}" in shown.splitlines()[-1]  # the last layer: the model's rank
            lines = [line for line in screen.splitlines() if line.split("│")[1:2]]
            layer_rows = [ln for ln in lines if ln.split("│")[1].split()[:1] in (["1"], ["2"])]
            assert len(layer_rows) == 2  # both layers of the tiny model on screen


async def test_the_first_load_is_said_in_the_depth_screen_not_over_it(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run read from the cache has no model yet: the depth screen's waiting line says it
    loads first (a notice would cover the screen), then later screens say only computing."""
    import threading

    app = InspectorApp(Scoring(DOCS, model_spec=str(tiny_model_dir), device="cpu"), "depth",
                       tmp_path)  # fmt: skip
    release = threading.Event()
    computed = app._depth

    def held(*args):  # the lens waits until the screen was read
        release.wait(30)
        return computed(*args)

    monkeypatch.setattr(app, "_depth", held)
    with terminal(monkeypatch, 80, 24) as term:
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(1200):
                if app.scoring == "done":
                    break
                await asyncio.sleep(0.05)
            app.source.loaded = None  # as when the table came from the cache
            app.session.goto(0, 3)
            app.refresh_view()
            await pilot.press("L")
            await pilot.pause(0.3)
            screen = " ".join(term.text().replace("│", " ").split())
            assert "loading the model for the first question (a few seconds)" in screen, screen
            assert not list(app._notifications), "a notice over the depth screen"
            release.set()
            for _ in range(1200):
                if isinstance(app.screen, ReportScreen) and app.screen.shown is not None:
                    break
                await asyncio.sleep(0.05)
            assert "loading the model" not in term.text()
            await pilot.press("escape", "L")
            await pilot.pause()
            assert isinstance(app.screen, ReportScreen) and app.screen.waiting == "computing…"
