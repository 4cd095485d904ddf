"""The annotation store against hostile input: concurrent imports, files that are not ours,
damaged files, malformed export rows and arbitrary bytes. Each gets one line and leaves the
database as it was."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.cli import main
from inspector.errors import InspectorError
from inspector.labels.columns import AnnotationError, Label
from inspector.labels.exchange import export_labels, read_export
from inspector.labels.store import Store


def some_labels(db: Path, n: int, annotator: str = "ann") -> None:
    """`n` labels and skips over three documents, one transaction each."""
    with Store(db) as store:
        for i in range(n):
            task = None if i % 7 == 0 else ("grammar", "world_knowledge")[i % 2]
            store.add(
                Label("c", f"d{i % 3}", "h", i * 4, i * 4 + 3, f"t{i}", task, annotator, nll=1.5)
            )


def exported(db: Path, fmt: str, out: Path) -> Path:
    with Store(db, readonly=True) as store:
        export_labels(store.table(live_only=False), fmt, out)
    return out


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


# 10. two imports of one file at the same time

IMPORTER = """
import sys, time
from pathlib import Path
from inspector.cli import main

ready, go = Path(sys.argv[3]), Path(sys.argv[4])
ready.touch()
while not go.exists():
    time.sleep(0.001)
sys.exit(main(["annotations", "import", sys.argv[1], "--db", sys.argv[2]]))
"""


def import_together(source: Path, db: Path, tmp: Path, processes: int = 2) -> list[str]:
    """Start `processes` imports of `source` into `db` that begin at the same moment."""
    go = tmp / f"go-{db.name}"
    readies = [tmp / f"ready-{db.name}-{i}" for i in range(processes)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", IMPORTER, str(source), str(db), str(ready), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )  # fmt: skip
        for ready in readies
    ]
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in readies) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    errors = []
    for child in children:
        _out, err = child.communicate(timeout=120)
        if child.returncode != 0:
            errors.append(err)
    return errors


def test_concurrent_imports_of_one_file_add_each_label_once(tmp_path: Path) -> None:
    source = tmp_path / "source.sqlite"
    some_labels(source, 3000)
    export = exported(source, "jsonl", tmp_path / "labels.jsonl")
    existing = tmp_path / "existing.sqlite"
    some_labels(existing, 5, annotator="eve")
    targets = [tmp_path / f"new{i}.sqlite" for i in range(5)] + [existing]
    for db in targets:
        assert import_together(export, db, tmp_path) == [], db
    for db in targets:
        check = sqlite3.connect(db)
        count = check.execute("SELECT count(*) FROM labels WHERE annotator = 'ann'").fetchone()[0]
        check.close()
        assert count == 3000, db


# 11. another application's database


def foreign_id(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA application_id = 1196444237")  # "GPKG", a GeoPackage's
    db.commit()
    db.close()


def test_foreign_application_id_is_refused_and_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "geo.gpkg"
    foreign_id(db)
    some_labels(tmp_path / "a.sqlite", 3)
    export = exported(tmp_path / "a.sqlite", "jsonl", tmp_path / "a.jsonl")
    before = db.read_bytes()
    err = one_line_error(
        *run_main(capsys, "annotations", "import", str(export), "--db", str(db))[::2]
    )
    assert str(db) in err and "not an inspector annotation database" in err
    with pytest.raises(AnnotationError, match="not an inspector annotation database"):
        Store(db)
    assert db.read_bytes() == before


# 21 (one part). export of a database that is not inspector's says so


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (foreign_id, "not an inspector annotation database"),
        (lambda p: p.write_text("hello\n"), "not an SQLite database"),
        (lambda p: p.write_text("x"), "not an SQLite database"),  # SQLite took it for empty
        (lambda p: p.write_bytes(b"id,name\n1,x\n" * 100), "not an SQLite database"),
    ],
)
def test_export_of_a_file_that_is_not_ours_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make, expected: str
) -> None:
    db = tmp_path / "other.db"
    make(db)
    before = db.read_bytes()
    err = one_line_error(*run_main(capsys, "annotations", "export", "--db", str(db))[::2])
    assert expected in err and "empty" not in err
    some_labels(tmp_path / "a.sqlite", 3)
    export = exported(tmp_path / "a.sqlite", "jsonl", tmp_path / "a.jsonl")
    err = one_line_error(
        *run_main(capsys, "annotations", "import", str(export), "--db", str(db))[::2]
    )
    assert expected in err
    assert db.read_bytes() == before


# 12. a damaged database in DELETE journal mode


def test_damaged_delete_mode_database_is_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "damaged.sqlite"
    some_labels(db, 400)
    check = sqlite3.connect(db)
    assert check.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
    page = check.execute("PRAGMA page_size").fetchone()[0]
    pages = check.execute("PRAGMA page_count").fetchone()[0]
    check.close()
    assert pages > 4
    with db.open("r+b") as f:  # garble the middle of pages 2 to 4, keep the header page
        for n in (1, 2, 3):
            f.seek(n * page + 40)
            f.write(bytes(range(256)) * 8)
    some_labels(tmp_path / "a.sqlite", 3)
    export = exported(tmp_path / "a.sqlite", "jsonl", tmp_path / "a.jsonl")
    before = db.read_bytes()
    err = one_line_error(
        *run_main(capsys, "annotations", "import", str(export), "--db", str(db))[::2]
    )
    assert "damaged" in err
    assert db.read_bytes() == before
    assert not Path(f"{db}-wal").exists()


# 13. malformed rows: one line naming the row, nothing imported


def good_export(tmp_path: Path, fmt: str) -> Path:
    some_labels(tmp_path / "a.sqlite", 6)
    return exported(tmp_path / "a.sqlite", fmt, tmp_path / f"labels.{fmt}")


JSONL_BREAKS = {
    "start": (lambda s: s.update(start="abc"), "start"),
    "created": (lambda s: s.update(created="yesterday"), "created"),
    "no action": (lambda s: s.pop("action"), "action"),
    "no token": (lambda s: s.pop("token"), "token"),
    "unknown action": (lambda s: s.update(action="delete"), "action"),
    "huge rank": (lambda s: s.update(rank=2**70), "rank"),
    "start a list": (lambda s: s.update(start=[1]), "start"),
    "true end": (lambda s: s.update(end=True), "end"),
}


@pytest.mark.parametrize("case", sorted(JSONL_BREAKS))
def test_malformed_jsonl_row_is_one_line_and_nothing_is_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    export = good_export(tmp_path, "jsonl")
    lines = export.read_text().splitlines()
    assert len(lines) == 3  # three documents; break the second span of the second one
    doc = json.loads(lines[1])
    breaks, field = JSONL_BREAKS[case]
    breaks(doc["spans"][1])
    lines[1] = json.dumps(doc)
    export.write_text("\n".join(lines) + "\n")
    db = tmp_path / "b.sqlite"
    some_labels(db, 2, annotator="eve")
    before = db.read_bytes()
    err = one_line_error(
        *run_main(capsys, "annotations", "import", str(export), "--db", str(db))[::2]
    )
    assert f"{export}:2:" in err and field in err
    with Store(db, readonly=True) as store:
        assert set(store.table(live_only=False)["annotator"]) == {"eve"}
    assert db.read_bytes() == before


CSV_BREAKS = {
    "char_start": "abc",
    "created": "yesterday",
    "action": "delete",
    "token": None,  # an empty cell: no token
    "annotator": None,
    "rank": "1.5",
}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("column", sorted(CSV_BREAKS))
def test_malformed_table_row_is_one_line_and_nothing_is_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, column: str
) -> None:
    export = good_export(tmp_path, "csv")
    table = pl.read_csv(export, infer_schema=False)
    value = CSV_BREAKS[column]
    table = table.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit(value))
        .otherwise(pl.col(column))
        .alias(column)
    )
    if fmt == "csv":
        table.write_csv(export)
    else:
        export = export.with_suffix(".parquet")
        table.write_parquet(export)  # every column text: the same check applies
    db = tmp_path / "b.sqlite"
    some_labels(db, 2, annotator="eve")
    err = one_line_error(
        *run_main(capsys, "annotations", "import", str(export), "--db", str(db))[::2]
    )
    assert "row 4" in err and column in err, err
    with Store(db, readonly=True) as store:
        assert set(store.table(live_only=False)["annotator"]) == {"eve"}


def test_missing_column_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = good_export(tmp_path, "csv")
    pl.read_csv(export, infer_schema=False).drop("action").write_csv(export)
    err = one_line_error(
        *run_main(capsys, "annotations", "import", str(export), "--db", str(tmp_path / "b.db"))[::2]
    )
    assert "action" in err


def test_jsonl_round_trip_keeps_line_breaks_inside_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store(tmp_path / "a.sqlite") as store:
        store.add(Label("c", "d", "h", 0, 5, "a\u2028b\x85c", "grammar", "ann", note="x\ry\x0cz"))
    export = exported(tmp_path / "a.sqlite", "jsonl", tmp_path / "a.jsonl")
    code, out, err = run_main(
        capsys, "annotations", "import", str(export), "--db", str(tmp_path / "b.sqlite")
    )
    assert code == 0 and "imported 1 of 1" in out, err
    with Store(tmp_path / "b.sqlite", readonly=True) as store:
        row = store.table().row(0, named=True)
    assert (row["token"], row["note"]) == ("a\u2028b\x85c", "x\ry\x0cz")


# fuzz: arbitrary files into a database that already holds labels

SPAN_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
FIELDS = [
    "start", "end", "token", "label", "action", "note", "annotator", "model", "nll", "rank",
    "heuristic", "heuristic_reason", "created", "undone", "id",
]  # fmt: skip
GOOD_SPAN = {
    "start": 0, "end": 3, "token": "The", "label": "grammar", "action": "label", "note": "",
    "annotator": "zed", "model": "m", "nll": 1.0, "rank": 1, "heuristic": "grammar",
    "heuristic_reason": "r", "created": 1.5, "undone": None, "id": 1,
}  # fmt: skip


@st.composite
def jsonl_docs(draw: st.DrawFn) -> str:
    """Export lines that are nearly right: a few fields changed, dropped or added."""
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        spans = []
        for _ in range(draw(st.integers(0, 3))):
            span = dict(GOOD_SPAN)
            for key in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
                if draw(st.booleans()):
                    span[key] = draw(SPAN_VALUES)
                else:
                    span.pop(key, None)
            spans.append(span)
        doc: object = {
            "corpus": draw(st.one_of(st.just("c"), SPAN_VALUES)),
            "doc_id": "d",
            "doc_hash": "h",
            "spans": draw(st.one_of(st.just(spans), SPAN_VALUES)),
        }
        lines.append(json.dumps(doc))
    return "\n".join(lines)


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    """A CSV export with some cells replaced by arbitrary text."""
    header = ["id", "corpus", "doc_id", "doc_hash", "char_start", "char_end", *FIELDS[2:-1]]
    rows = [header]
    for i in range(draw(st.integers(0, 3))):
        row = ["1", "c", "d", "h", str(i), str(i + 3), "The", "grammar", "label", "", "zed",
               "m", "1.0", "1", "grammar", "r", "1.5", ""]  # fmt: skip
        for _ in range(draw(st.integers(0, 2))):
            row[draw(st.integers(0, len(row) - 1))] = draw(st.text(max_size=6))
        rows.append(row)
    return "\n".join(",".join(json.dumps(c) if draw(st.booleans()) else c for c in r) for r in rows)


FILES = st.one_of(
    st.tuples(st.sampled_from([".jsonl", ".csv", ".parquet", ".txt"]), st.binary(max_size=300)),
    st.tuples(st.sampled_from([".jsonl", ".csv"]), st.text(max_size=300).map(str.encode)),
    st.tuples(st.just(".jsonl"), jsonl_docs().map(str.encode)),
    st.tuples(st.just(".csv"), csv_texts().map(str.encode)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FILES)
def test_any_import_file_succeeds_or_is_one_line_and_keeps_the_labels(
    file: tuple[str, bytes],
) -> None:
    suffix, data = file
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "have.sqlite"
        some_labels(db, 5)
        with Store(db, readonly=True) as store:
            before = store.table(live_only=False)
        path = Path(tmp) / f"import{suffix}"
        path.write_bytes(data)
        added = 0
        try:
            rows = read_export(path)
            with Store(db) as store:
                added = store.import_rows(rows)
        except InspectorError as e:
            assert "\n" not in str(e) and "\r" not in str(e), str(e)
        with Store(db, readonly=True) as store:
            after = store.table(live_only=False)
        assert after.head(before.height).equals(before)
        assert after.height == before.height + added
