"""Where labels are kept (issue 34, item 5): the user's data folder, never the working
folder; `--db` still chooses; a label file an older inspector left in the working folder
is still used, and said so; every command that reads labels finds the same file."""

from __future__ import annotations

import asyncio
import re
import stat
from pathlib import Path

import pytest

from conftest import run_cli
from corpora import Document
from inspector.labels.columns import Label
from inspector.labels.store import Store

DOCS = [Document("biden", "Biden married Neilia Hunter, a student.")]


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(the data folder's `inspector` folder, an empty working folder, made the cwd)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path / "data" / "inspector", work


def _label(db: Path, annotator: str = "ann") -> None:
    with Store(db) as store:
        store.add(Label("c", "d", "h", 0, 5, "Biden", "grammar", annotator, model="tiny",
                        nll=1.0, rank=3, heuristic="grammar", heuristic_reason="r"))  # fmt: skip


def test_the_default_database_is_in_the_data_folder(places: tuple[Path, Path]) -> None:
    from inspector.labels.place import label_db

    data, work = places
    where = label_db(None, create=True)
    assert where.path == data / "annotations.sqlite"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700  # labels are the user's own
    assert where.note == f"labels: {data / 'annotations.sqlite'}"
    assert list(work.iterdir()) == []


def test_without_xdg_data_home_the_default_is_under_local_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inspector.labels.place import default_db

    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_db() == tmp_path / ".local/share/inspector/annotations.sqlite"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")  # the XDG rule: ignored
    assert default_db() == tmp_path / ".local/share/inspector/annotations.sqlite"


def test_commands_without_db_share_the_default_and_write_nothing_here(
    places: tuple[Path, Path],
) -> None:
    data, work = places
    missing = run_cli("agreement", cwd=work)
    assert missing.returncode == 2
    assert (
        f"{data / 'annotations.sqlite'} (the default; --db FILE reads another): no labels yet"
        in missing.stderr
    )
    source = work.parent / "a.sqlite"
    _label(source)
    exported = run_cli(
        "annotations", "export", "--db", str(source), "--out", "../l.jsonl", cwd=work
    )
    assert exported.returncode == 0, exported.stderr
    imported = run_cli("annotations", "import", "../l.jsonl", cwd=work)
    assert imported.returncode == 0, imported.stderr
    assert f"labels: {data / 'annotations.sqlite'}" in imported.stderr
    assert f"into {data / 'annotations.sqlite'}" in imported.stdout
    again = run_cli("annotations", "export", cwd=work)
    assert again.returncode == 0 and '"doc_id":"d"' in again.stdout.replace(" ", "")
    agree = run_cli("agreement", cwd=work)
    assert agree.returncode == 0 and "heuristic against human: 1 targets" in agree.stdout
    assert list(work.iterdir()) == []  # nothing in the working folder, no -wal, no -shm


def test_a_label_file_left_in_the_working_folder_is_still_used(places: tuple[Path, Path]) -> None:
    data, work = places
    _label(work / "annotations.sqlite")
    export = run_cli("annotations", "export", cwd=work)
    assert export.returncode == 0, export.stderr
    assert '"doc_id":"d"' in export.stdout.replace(" ", "")
    note = export.stderr.strip()
    assert note == (
        f"inspector annotations: labels: {work / 'annotations.sqlite'}, found in this folder "
        f"(labels made before they moved to {data}); --db chooses another"
    )
    assert not data.exists()  # nothing made beside it


async def _annotate_with_a(app) -> list[str]:  # type: ignore[no-untyped-def]
    from test_app import scored

    async with app.run_test(size=(100, 34)) as pilot:
        await scored(pilot, app)
        await pilot.press("a")
        await pilot.pause()
        assert app.mode == "annotate" and app.labelling is not None
        await pilot.press("1")
        for _ in range(40):
            await asyncio.sleep(0.05)
        # a path too long for the notice is broken onto lines after a separator: read whole
        return [re.sub(r"(?<=[/._-])\n", "", str(n.message)) for n in app._notifications]


async def test_a_in_the_app_labels_into_the_data_folder_and_says_so(
    tiny_model_dir: Path, places: tuple[Path, Path]
) -> None:
    from inspector.tui.app import InspectorApp
    from inspector.tui.source import Scoring

    data, work = places
    app = InspectorApp(Scoring(DOCS, model_spec=str(tiny_model_dir), device="cpu"), "c",
                       work.parent / "cache")  # fmt: skip
    shown = await _annotate_with_a(app)
    assert f"labels: {data / 'annotations.sqlite'}" in shown
    assert list(work.iterdir()) == []
    with Store(data / "annotations.sqlite", readonly=True) as store:
        assert store.table().height == 1


async def test_a_in_the_app_keeps_using_a_label_file_left_here(
    tiny_model_dir: Path, places: tuple[Path, Path]
) -> None:
    from inspector.tui.app import InspectorApp
    from inspector.tui.source import Scoring

    data, work = places
    _label(work / "annotations.sqlite", "old")
    app = InspectorApp(Scoring(DOCS, model_spec=str(tiny_model_dir), device="cpu"), "c",
                       work.parent / "cache")  # fmt: skip
    shown = await _annotate_with_a(app)
    assert any("found in this folder" in n and str(work / "annotations.sqlite") in n for n in shown)
    assert not data.exists()
    with Store(work / "annotations.sqlite", readonly=True) as store:
        assert store.table().height == 2  # the new label joined the old one
