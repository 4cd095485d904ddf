"""The annotation store: durable, never overwrites what it does not own, joins by text span."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import pytest

from inspector.labels.columns import AnnotationError, Label
from inspector.labels.join import human_tasks
from inspector.labels.store import Store


def label(
    text: str = " Hunter",
    start: int = 20,
    end: int = 27,
    task: str | None = "world_knowledge",
    **kw: object,
) -> Label:
    fields = dict(
        corpus="c1",
        doc_id="d",
        doc_hash="h1",
        char_start=start,
        char_end=end,
        token=text,
        label=task,
        annotator="ann",
    )
    fields.update(kw)
    return Label(**fields)  # type: ignore[arg-type]


def test_labels_persist_and_undo_keeps_the_row(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite"
    with Store(db) as store:
        first = store.add(label())
        store.add(label(" a", 28, 30, "grammar"))
        store.add(label(" student", 30, 38, None))  # a skip
        undone = store.undo("ann", "c1")
        assert undone is not None and undone["token"] == " student"
        store.set_note(first, "the surname is the fact")
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with Store(db, readonly=True) as store:
        live = store.table()
        assert live["token"].to_list() == [" Hunter", " a"]
        assert live["note"][0] == "the surname is the fact"
        assert store.table(live_only=False).height == 3  # the undone skip is still there
        with pytest.raises(AnnotationError, match="opened read-only"):
            store.add(label())


def foreign(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE other (x)")
    db.commit()
    db.close()


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda p: p.write_bytes(b"this is not sqlite at all, just text" * 50),
            "damaged or not an SQLite database",
        ),
        (foreign, "not an inspector annotation database"),
    ],
)
def test_foreign_or_damaged_files_are_refused_and_untouched(
    tmp_path: Path, make, expected: str
) -> None:
    path = tmp_path / "x.sqlite"
    make(path)
    before = path.read_bytes()
    with pytest.raises(AnnotationError, match=expected):
        Store(path)
    assert path.read_bytes() == before


def test_newer_schema_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(AnnotationError, match="written by a newer inspector"):
        Store(path)
    assert path.read_bytes() == before


def test_locked_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    Store(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(AnnotationError, match="locked by another program"):
            with Store(path) as store:
                store.add(label())
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_human_labels_join_by_text_span_across_tokenizers() -> None:
    labels = pl.DataFrame(
        {
            "id": [1, 2, 3], "doc_id": ["d", "d", "d"], "doc_hash": ["h1", "h1", "h1"],
            "char_start": [20, 28, 20], "char_end": [27, 30, 27], "label": ["arbitrary", "grammar", "world_knowledge"],
            "action": ["label", "label", "label"],
        }
    )  # fmt: skip
    # another tokenizer cut " Hunter" into " Hun" + "ter"; the latest label of that span counts
    table = pl.DataFrame(
        {
            "doc_id": ["d"] * 5, "pos": [0, 1, 2, 3, 4], "token": [" Ne", " Hun", "ter", ",", " a"],
            "char_start": [13, 20, 24, 27, 28], "char_end": [16, 24, 27, 28, 30],
            "task": ["world_knowledge", "x", "x", "punctuation", "grammar"], "task_reason": ["r"] * 5,
        }
    )  # fmt: skip
    human = human_tasks(table, labels)
    assert human["token"].to_list() == [" Hun", "ter", " a"]
    assert human["task"].to_list() == ["world_knowledge", "world_knowledge", "grammar"]
    assert set(human["task_reason"]) == {"human"}
    assert human_tasks(table, labels, doc_hashes={"d": "changed"}).is_empty()  # the text changed


def test_read_only_file_is_a_clear_error_and_untouched(tmp_path: Path) -> None:
    import os
    import subprocess

    path = tmp_path / "ro.sqlite"
    with Store(path) as store:
        store.add(label())
    before = path.read_bytes()
    if os.geteuid() != 0:
        path.chmod(0o444)
        undo = ["chmod", "644", str(path)]
    else:  # root writes through permissions; an immutable file stops even root
        made = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
        if made.returncode != 0:
            pytest.skip(
                f"cannot make a file read-only for root here: {made.stderr.decode().strip()}"
            )
        undo = ["chattr", "-i", str(path)]
    try:
        with pytest.raises(AnnotationError, match="read-only; check its permissions"):
            with Store(path) as store:
                store.add(label(" a", 28, 30, "grammar"))
        assert path.read_bytes() == before
    finally:
        subprocess.run(undo, check=True)


def test_a_label_row_is_written_from_the_one_column_spec(tmp_path: Path) -> None:
    """Label's fields are columns of the spec, and the database's table has the spec's
    columns in its order (issue 14: the columns were written four times)."""
    from dataclasses import fields

    from inspector.labels.columns import COLUMNS, SPEC

    assert {f.name for f in fields(Label)} <= set(SPEC)
    with Store(tmp_path / "a.sqlite") as store:
        names = [r[1] for r in store.db.execute("PRAGMA table_info(labels)")]
    assert tuple(names) == COLUMNS
