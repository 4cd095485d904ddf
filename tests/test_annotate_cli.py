"""Annotation data people trust: kill -9 loses nothing confirmed; export, import, agreement;
databases that must not be touched are refused."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_cli
from corpora import Document
from inspector.labels.columns import Label
from inspector.labels.store import Store
from inspector.run.score import score_corpus

DOCS = [
    Document("biden", "Biden married Neilia Hunter, a student."),
    Document("quiz", "The answer to 3 + 4 is 7."),
]

CHILD = """
import json, sys
from pathlib import Path
import polars as pl
from corpora import Document
from inspector.labels.store import Store
from inspector.session.browse import Session
from inspector.labels.queue import Labelling

docs = [Document(d["id"], d["text"]) for d in json.loads(Path(sys.argv[2]).read_text())]
session = Session(docs)
session.add_table(pl.read_parquet(sys.argv[3]))
lab = Labelling(session, Store(Path(sys.argv[1])), "ann", "corpus", "tiny", "text")
labels = ["grammar", "world_knowledge", "punctuation", "arbitrary"]
i = 0
while True:
    if lab.current() is None or lab.is_done(*lab.current()):
        lab.index = 0
        session.goto(*lab.queue[0])
    label_id = lab.act(labels[i % 4])  # the key handler's own call: returns once committed
    print(label_id, flush=True)  # what the screen would now show as saved
    i += 1
"""


def test_sigkill_loses_no_confirmed_label(tiny_lm, tmp_path: Path) -> None:
    table = score_corpus(DOCS, tiny_lm).table
    table.write_parquet(tmp_path / "t.parquet")
    (tmp_path / "docs.json").write_text(json.dumps([{"id": d.id, "text": d.text} for d in DOCS]))
    db = tmp_path / "kill.sqlite"
    rng = random.Random(7)
    confirmed: list[int] = []
    for _ in range(50):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(db), str(tmp_path / "docs.json"), str(tmp_path / "t.parquet")],
            stdout=subprocess.PIPE, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )  # fmt: skip
        time.sleep(
            rng.uniform(1.0, 1.6)
        )  # start-up is about 1 s: kills land before, during and after labelling
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate()
        confirmed.extend(int(x) for x in out.split())
    assert len(confirmed) > 100  # the kills did land in the middle of labelling
    check = sqlite3.connect(db)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    saved = {r[0] for r in check.execute("SELECT id FROM labels")}
    check.close()
    assert set(confirmed) <= saved


def fill(db: Path) -> None:
    """Ten targets labelled by ann and by bob (90% agreement), one note, one undone skip."""
    names = {"g": "grammar", "w": "world_knowledge", "a": "arbitrary"}
    with Store(db) as store:
        for i, (a, b, h) in enumerate(zip("ggggwwwwgw", "ggggwwwggw", "ggaawwwwgg", strict=True)):
            for who, label, note in (("ann", a, "n" if i == 0 else ""), ("bob", b, "")):
                store.add(
                    Label(
                        "c",
                        "d",
                        "h",
                        i * 3,
                        i * 3 + 2,
                        f"t{i}",
                        names[label],
                        who,
                        note=note,
                        heuristic=names[h],
                        heuristic_reason="r",
                    )  # fmt: skip
                )
        store.add(Label("c", "d", "h", 40, 42, "x", None, "ann"))
        store.undo("ann", "c")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_then_import_round_trips(tmp_path: Path, fmt: str) -> None:
    fill(tmp_path / "a.sqlite")
    out = tmp_path / f"labels.{fmt}"
    result = run_cli(
        "annotations",
        "export",
        "--db",
        "a.sqlite",
        "--format",
        fmt,
        "--out",
        out.name,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    if fmt == "jsonl":
        first = json.loads(out.read_text().splitlines()[0])
        assert first["doc_id"] == "d" and {"start", "end", "label", "annotator"} <= set(
            first["spans"][0]
        )
    imported = run_cli("annotations", "import", out.name, "--db", "b.sqlite", cwd=tmp_path)
    assert imported.returncode == 0 and "imported 21 of 21" in imported.stdout
    again = run_cli("annotations", "import", out.name, "--db", "b.sqlite", cwd=tmp_path)
    assert "imported 0 of 21" in again.stdout  # nothing twice
    with (
        Store(tmp_path / "a.sqlite", readonly=True) as a,
        Store(tmp_path / "b.sqlite", readonly=True) as b,
    ):
        left, right = a.table(live_only=False).drop("id"), b.table(live_only=False).drop("id")
    assert left.equals(right)


def test_export_to_stdout_and_agreement(tmp_path: Path) -> None:
    fill(tmp_path / "a.sqlite")
    text = run_cli("annotations", "export", "--db", "a.sqlite", cwd=tmp_path)
    assert text.returncode == 0 and len(text.stdout.splitlines()) == 1  # one document
    agree = run_cli("agreement", "--db", "a.sqlite", cwd=tmp_path)
    assert agree.returncode == 0, agree.stderr
    assert "heuristic against human: 20 targets" in agree.stdout
    assert "ann against bob: 10 targets, agreement 90.0%, Cohen's kappa 0.800" in agree.stdout
    one = run_cli("agreement", "--db", "a.sqlite", "--annotator", "ann", cwd=tmp_path)
    assert "heuristic against human: 10 targets" in one.stdout
    nobody = run_cli("agreement", "--db", "a.sqlite", "--annotator", "eve", cwd=tmp_path)
    assert nobody.returncode == 2 and "no labels by that name" in nobody.stderr


def damaged(path: Path) -> None:
    path.write_bytes(b"garbage" * 200)


def newer(path: Path) -> None:
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 7")
    db.commit()
    db.close()


@pytest.mark.parametrize(
    ("make", "expected"),
    [(damaged, "damaged or not an SQLite database"), (newer, "written by a newer inspector")],
)
def test_bad_databases_exit_2_untouched(tmp_path: Path, make, expected: str) -> None:
    db = tmp_path / "x.sqlite"
    make(db)
    before = db.read_bytes()
    (tmp_path / "c.txt").write_text("Some text.")
    for args in (
        ("annotate", "c.txt", "--db", "x.sqlite", "--cache-dir", "cache"),
        ("agreement", "--db", "x.sqlite"),
        ("annotations", "export", "--db", "x.sqlite"),
        ("annotations", "import", "missing.jsonl", "--db", "x.sqlite"),
    ):
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert expected in run_cli("agreement", "--db", "x.sqlite", cwd=tmp_path).stderr
    assert db.read_bytes() == before


def test_locked_database_exit_2(tmp_path: Path) -> None:
    fill(tmp_path / "a.sqlite")
    with Store(tmp_path / "new.sqlite") as store:  # a label a.sqlite does not have yet
        store.add(Label("c", "d", "h", 90, 95, "new", "grammar", "eve"))
    export = run_cli("annotations", "export", "--db", "new.sqlite", cwd=tmp_path)
    (tmp_path / "e.jsonl").write_text(export.stdout)
    other = sqlite3.connect(tmp_path / "a.sqlite", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program is writing
    try:
        result = run_cli("annotations", "import", "e.jsonl", "--db", "a.sqlite", cwd=tmp_path)
        assert result.returncode == 2 and "locked by another program" in result.stderr
    finally:
        other.execute("ROLLBACK")
        other.close()
    with Store(tmp_path / "a.sqlite", readonly=True) as store:
        assert "eve" not in set(store.table()["annotator"])  # nothing half-written


def test_bad_order_and_bad_export_line(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_text("Some text.")
    bad = run_cli("annotate", "c.txt", "--order", "random", "--cache-dir", "cache", cwd=tmp_path)
    assert bad.returncode == 2 and "--order random" in bad.stderr
    (tmp_path / "broken.jsonl").write_text(
        '{"corpus": "c", "doc_id": "d", "doc_hash": "h", "spans": []}\n{nope\n'
    )
    broken = run_cli("annotations", "import", "broken.jsonl", "--db", "n.sqlite", cwd=tmp_path)
    assert broken.returncode == 2 and "broken.jsonl:2" in broken.stderr
