"""The annotation store: human task labels in one SQLite file that nothing is lost from.

WAL journal, synchronous=FULL, one transaction per action: a label shown as saved is on
disk, whatever happens next (crash, kill -9). A label is stored against the text, not the
model: corpus, document id, document content hash, character span and token text, plus
what the model and the heuristic said at that moment, the annotator and the time, so
labels survive a change of model or tokenizer. Undo marks a row as undone; it never
deletes. A file that is locked, read-only, not ours, damaged or from a newer schema gets a
clear error and is never written to.
"""

from __future__ import annotations

import math
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from inspector.errors import InspectorError

SCHEMA_VERSION = 2  # 2 added corpus_path, context_before, context_after (v1 files upgrade on open)
APPLICATION_ID = 0x494E5350  # "INSP": marks the file as an inspector annotation database
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database
WAIT_S = 2.0  # how long an action waits for another writer before saying the file is locked
IMPORT_WAIT_S = 10.0  # an import waits longer: the writer ahead may be another whole import
SCHEMA = (  # idempotent: two processes creating one new file at once both succeed
    """CREATE TABLE IF NOT EXISTS labels (
    id INTEGER PRIMARY KEY,
    corpus TEXT NOT NULL,          -- corpus hash
    doc_id TEXT NOT NULL,
    doc_hash TEXT NOT NULL,        -- sha256 of the document text when labelled
    char_start INTEGER NOT NULL,   -- the labelled span in that text
    char_end INTEGER NOT NULL,
    token TEXT NOT NULL,
    label TEXT,                    -- the task; NULL for a skip
    action TEXT NOT NULL CHECK (action IN ('label', 'skip')),
    note TEXT NOT NULL DEFAULT '',
    annotator TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    nll REAL,
    rank INTEGER,
    heuristic TEXT,                -- the heuristic tag at that moment
    heuristic_reason TEXT,
    corpus_path TEXT NOT NULL DEFAULT '',     -- the file(s) the document was read from
    context_before TEXT NOT NULL DEFAULT '',  -- the document's text around the span, so a
    context_after TEXT NOT NULL DEFAULT '',   -- label reads without the corpus
    created REAL NOT NULL,         -- unix time
    undone REAL                    -- set by undo; the row stays
)""",
    "CREATE INDEX IF NOT EXISTS labels_span ON labels (corpus, doc_id, char_start)",
)
COLUMNS = (
    "id", "corpus", "doc_id", "doc_hash", "char_start", "char_end", "token", "label", "action",
    "note", "annotator", "model", "nll", "rank", "heuristic", "heuristic_reason", "corpus_path",
    "context_before", "context_after", "created", "undone",
)  # fmt: skip
# text columns an older file or export may lack: empty when absent
OPTIONAL_TEXT = ("note", "model", "corpus_path", "context_before", "context_after")
ADDED_IN_2 = ("corpus_path", "context_before", "context_after")
CONTEXT_CHARS = 80  # of the document on each side of a labelled span


class AnnotationError(InspectorError):
    """An annotation database that cannot be used as asked."""


@dataclass(frozen=True)
class Label:
    """One action of an annotator on one target."""

    corpus: str
    doc_id: str
    doc_hash: str
    char_start: int
    char_end: int
    token: str
    label: str | None  # None for a skip
    annotator: str
    note: str = ""
    model: str = ""
    nll: float | None = None
    rank: int | None = None
    heuristic: str | None = None
    heuristic_reason: str | None = None
    corpus_path: str = ""
    context_before: str = ""
    context_after: str = ""


class Store:
    """An open annotation database."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self.db = _open(path, readonly)
        # every column in COLUMNS order; one a version-1 file opened read-only lacks reads ''
        present = {r[1] for r in self.db.execute("PRAGMA table_info(labels)")}
        self.columns = ", ".join(c if c in present else f"'' AS {c}" for c in COLUMNS)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self, wait_s: float = WAIT_S) -> Iterator[sqlite3.Connection]:
        """One write transaction that holds the write lock from its first statement (BEGIN
        IMMEDIATE), so what it reads stays true until it commits; waits up to `wait_s` for
        another writer. Committed on success, rolled back on any error."""
        if self.readonly:
            raise AnnotationError(f"{self.path}: opened read-only; nothing can be saved to it")
        try:
            self.db.execute(f"PRAGMA busy_timeout = {int(wait_s * 1000)}")
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as e:
            raise AnnotationError(_explain(self.path, e)) from e
        finally:
            self.db.execute(f"PRAGMA busy_timeout = {int(WAIT_S * 1000)}")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            _rollback(self.db)
            raise AnnotationError(_explain(self.path, e)) from e
        except BaseException:
            _rollback(self.db)
            raise

    def add(self, item: Label) -> int:
        """Save one label or skip, durably; returns its id."""
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO labels (corpus, doc_id, doc_hash, char_start, char_end, token, label, action,"
                " note, annotator, model, nll, rank, heuristic, heuristic_reason, corpus_path,"
                " context_before, context_after, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item.corpus, item.doc_id, item.doc_hash, item.char_start, item.char_end, item.token,
                    item.label, "skip" if item.label is None else "label", item.note, item.annotator,
                    item.model, item.nll, item.rank, item.heuristic, item.heuristic_reason,
                    item.corpus_path, item.context_before, item.context_after, time.time(),
                ),
            )  # fmt: skip
            return int(cur.lastrowid or 0)

    def undo(self, annotator: str, corpus: str) -> dict[str, Any] | None:
        """Mark this annotator's last live action on this corpus as undone; returns it."""
        with self._write() as db:
            row = db.execute(
                f"SELECT {self.columns} FROM labels WHERE annotator = ? AND corpus = ? AND undone IS NULL"
                " ORDER BY id DESC LIMIT 1",
                (annotator, corpus),
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE labels SET undone = ? WHERE id = ?", (time.time(), row[0]))
            return dict(zip(COLUMNS, row, strict=True))

    def import_rows(self, rows: pl.DataFrame) -> int:
        """Add exported rows that are not here yet (same span, annotator, time and label);
        returns how many were added. Every row is checked first, and what is here is read in
        the same write transaction that adds the rest: all or nothing, and two imports of one
        file at the same time add each row once."""
        _require_columns(rows.columns, "")
        checked = [
            check_row(r, f"row {n}", lenient=True)
            for n, r in enumerate(rows.iter_rows(named=True), 1)
        ]
        added = 0
        with self._write(IMPORT_WAIT_S) as db:
            have = set(
                db.execute(
                    "SELECT corpus, doc_id, char_start, char_end, annotator, created, label FROM labels"
                )
            )
            new = []
            for r in checked:
                key = tuple(r[c] for c in _KEY)
                if key in have:
                    continue
                have.add(key)
                new.append([r[c] for c in COLUMNS[1:]])
            db.executemany(
                f"INSERT INTO labels ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' for _ in COLUMNS[1:])})",
                new,
            )
            added = len(new)
        return added

    def set_note(self, label_id: int, note: str) -> None:
        with self._write() as db:
            db.execute("UPDATE labels SET note = ? WHERE id = ?", (note, label_id))

    def table(self, corpus: str | None = None, live_only: bool = True) -> pl.DataFrame:
        """Every action (live ones only by default) as a DataFrame, oldest first."""
        sql = f"SELECT {self.columns} FROM labels"
        where, args = [], []
        if corpus is not None:
            where.append("corpus = ?")
            args.append(corpus)
        if live_only:
            where.append("undone IS NULL")
        if where:
            sql += " WHERE " + " AND ".join(where)
        try:
            rows = self.db.execute(sql + " ORDER BY id", args).fetchall()
        except sqlite3.DatabaseError as e:
            raise AnnotationError(_explain(self.path, e)) from e
        return pl.DataFrame(rows, schema=_SCHEMA, orient="row")


_SCHEMA = {
    "id": pl.Int64, "corpus": pl.String, "doc_id": pl.String, "doc_hash": pl.String,
    "char_start": pl.Int64, "char_end": pl.Int64, "token": pl.String, "label": pl.String,
    "action": pl.String, "note": pl.String, "annotator": pl.String, "model": pl.String,
    "nll": pl.Float64, "rank": pl.Int64, "heuristic": pl.String, "heuristic_reason": pl.String,
    "corpus_path": pl.String, "context_before": pl.String, "context_after": pl.String,
    "created": pl.Float64, "undone": pl.Float64,
}  # fmt: skip


def _require_columns(columns: list[str], where: str) -> None:
    """Refuse an export without every column a label needs (undone and the optional text
    columns may be absent)."""
    missing = [
        c for c in COLUMNS[1:] if c not in columns and c != "undone" and c not in OPTIONAL_TEXT
    ]
    if missing:
        raise AnnotationError(
            f"{where}not an annotations export (missing columns: {', '.join(missing)})"
        )


def _open(path: Path, readonly: bool) -> sqlite3.Connection:
    """Open (creating when allowed) and check the database. Everything is checked (the
    header, whose file it is, its schema version, its pages) before anything is written, so a
    file that is not ours, newer or damaged is left byte for byte as it was."""
    exists = path.exists()
    if readonly and not exists:
        raise AnnotationError(f"{path}: no such annotation database; check the path")
    if exists and not path.is_file():
        raise AnnotationError(f"{path}: not a file; give the path of an annotation database")
    if not exists and not path.parent.is_dir():
        raise AnnotationError(
            f"{path}: the folder {path.parent} does not exist; create it or choose another --db"
        )
    empty = not exists or _check_header(path)
    uri = f"{path.absolute().as_uri()}?mode={'ro' if readonly else 'rwc'}"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=WAIT_S, isolation_level=None)
    except sqlite3.Error as e:
        raise AnnotationError(_explain(path, e)) from e
    try:
        ours = _check_owner(db, path)
        if ours:
            _check(db, path)  # reads only: a damaged file gets no journal-mode switch
            if not readonly:
                _upgrade(db)
        elif readonly:
            what = "an empty file" if empty else "an SQLite database with no tables"
            raise AnnotationError(
                f"{path}: {what}, not an annotation database; label some with inspector annotate"
            )
        else:
            _create(db, path)
        if not readonly:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
        return db
    except sqlite3.DatabaseError as e:
        db.close()
        raise AnnotationError(_explain(path, e)) from e
    except BaseException:
        db.close()
        raise


def _check_header(path: Path) -> bool:
    """Whether the file is empty; refuses one that does not start as an SQLite database
    (SQLite itself takes a short text file for an empty database and would write over it)."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError as e:
        raise AnnotationError(
            f"{path}: cannot be read ({e.strerror}); check its permissions"
        ) from e
    if head and head != SQLITE_HEADER:
        raise AnnotationError(
            f"{path}: damaged or not an SQLite database (it does not start with the SQLite"
            " header); choose another --db, or restore a copy (it was not changed)"
        )
    return not head


def _check_owner(db: sqlite3.Connection, path: Path) -> bool:
    """Whether the file is an inspector annotation database this inspector reads; False for
    an empty one; an AnnotationError for another program's file or a newer schema."""
    # one statement, so one snapshot: another process may be creating the file right now
    app_id, version, tables = db.execute(
        "SELECT (SELECT application_id FROM pragma_application_id),"
        " (SELECT user_version FROM pragma_user_version),"
        " (SELECT count(*) FROM sqlite_master WHERE type = 'table')"
    ).fetchone()
    if app_id not in (0, APPLICATION_ID):
        raise AnnotationError(
            f"{path}: not an inspector annotation database (another program's: its application"
            f" id is {app_id & 0xFFFFFFFF:#010x}); choose another --db"
        )
    if tables and app_id != APPLICATION_ID:
        raise AnnotationError(
            f"{path}: not an inspector annotation database (it holds other tables); choose another --db"
        )
    if app_id == APPLICATION_ID and version > SCHEMA_VERSION:
        raise AnnotationError(
            f"{path}: written by a newer inspector (schema {version}, this one reads {SCHEMA_VERSION}); upgrade inspector"
        )
    return bool(app_id == APPLICATION_ID)


def _create(db: sqlite3.Connection, path: Path) -> None:
    """Give an empty database the schema, its application id and version, in one write
    transaction that looks again at what is there: another process may have just done it,
    and may be importing into it now (so this waits as long as an import would)."""
    db.execute(f"PRAGMA busy_timeout = {int(IMPORT_WAIT_S * 1000)}")
    try:
        db.execute("BEGIN IMMEDIATE")
    finally:
        db.execute(f"PRAGMA busy_timeout = {int(WAIT_S * 1000)}")
    try:
        if not _check_owner(db, path):
            for statement in SCHEMA:
                db.execute(statement)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        _rollback(db)
        raise


def _upgrade(db: sqlite3.Connection) -> None:
    """Bring a version-1 file to this schema: the added columns, empty for the rows already
    there (nothing else changes), in one write transaction that looks again first."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version >= SCHEMA_VERSION:
        return
    db.execute(f"PRAGMA busy_timeout = {int(IMPORT_WAIT_S * 1000)}")
    try:
        db.execute("BEGIN IMMEDIATE")
    finally:
        db.execute(f"PRAGMA busy_timeout = {int(WAIT_S * 1000)}")
    try:
        present = {r[1] for r in db.execute("PRAGMA table_info(labels)")}
        for column in ADDED_IN_2:
            if column not in present:
                db.execute(f"ALTER TABLE labels ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        _rollback(db)
        raise


def _rollback(db: sqlite3.Connection) -> None:
    """End the open transaction, if an error left one, keeping nothing of it."""
    if db.in_transaction:
        db.execute("ROLLBACK")


def _check(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a damaged file (SQLite's quick_check, which only reads), in one line."""
    rows = [str(r[0]) for r in db.execute("PRAGMA quick_check(10)")]
    if rows == ["ok"]:
        return
    # the report is several lines in one row ("*** in database main ***", then one problem a line)
    problems = [
        line.strip() for r in rows for line in r.splitlines() if line.strip() and "***" not in line
    ] or ["quick_check failed"]
    more = " and other problems" if len(problems) > 1 else ""
    raise AnnotationError(
        f"{path}: the database is damaged ({problems[0]}{more}); restore a copy, it was not changed"
    )


def _explain(path: Path, e: sqlite3.Error) -> str:
    """SQLite's error as one line that says what to do."""
    text = " ".join(str(e).split())
    if "locked" in text or "busy" in text:
        return f"{path}: locked by another program; close it and try again"
    if "readonly" in text or "read-only" in text:
        return f"{path}: read-only; check its permissions (nothing was written)"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return f"{path}: damaged or not an SQLite database ({text}); restore a copy, it was not changed"
    if "unable to open" in text:
        return f"{path}: cannot be opened ({text}); check the path and permissions"
    return f"{path}: {text}"


def human_tasks(
    table: pl.DataFrame, labels: pl.DataFrame, doc_hashes: dict[str, str] | None = None
) -> pl.DataFrame:
    """The token table's targets that a person labelled, with `task` set to the human label.

    Joined by text, never by token id: a target takes the label whose span, in the same
    document with the same content (`doc_hashes`, else the caller keeps to labels of the same
    corpus hash), contains the target's first non-space character; so
    labels made under one tokenizer apply to another's pieces of the same word. Where
    several annotators labelled a span, the latest label counts.
    """
    live = labels.filter(pl.col("action") == "label").sort("id")
    if doc_hashes is not None:  # labels of a document whose text has changed since do not apply
        current = pl.DataFrame({"doc_id": list(doc_hashes), "doc_hash": list(doc_hashes.values())})
        live = live.join(current, on=["doc_id", "doc_hash"], how="semi")
    if live.is_empty() or table.is_empty():
        return table.clear()
    first = table.with_row_index("_row").with_columns(
        (
            pl.col("char_start")
            + (
                pl.col("token").str.len_chars()
                - pl.col("token").str.strip_chars_start().str.len_chars()
            )
        ).alias("_first")
    )
    spans = live.select(
        "doc_id",
        "char_start",
        "char_end",
        pl.col("label").alias("_human"),
        pl.col("id").alias("_id"),
    )
    joined = (
        first.join(spans, on="doc_id", suffix="_label")
        .filter(
            (pl.col("char_start_label") <= pl.col("_first"))
            & (pl.col("_first") < pl.col("char_end_label"))
        )
        .sort("_id")
        .group_by("_row", maintain_order=True)
        .last()
    )
    return (
        joined.sort("_row")
        .with_columns(pl.col("_human").alias("task"), pl.lit("human").alias("task_reason"))
        .select(table.columns)
    )


SPAN_FIELDS = [
    c for c in COLUMNS if c not in ("corpus", "doc_id", "doc_hash", "char_start", "char_end")
]


def export_labels(
    table: pl.DataFrame, fmt: str, out: Path | None, force: bool = False
) -> str | None:
    """Every row (undone ones too, marked) as JSONL (one document per line with its spans and
    character offsets, as span annotation tools exchange them), CSV or Parquet; written to
    `out` atomically and never over an existing file unless `force`, else returned as text."""
    import json

    from inspector.files import write_new

    if fmt == "jsonl":
        lines = []
        for (corpus, doc_id, doc_hash), part in table.group_by(
            ["corpus", "doc_id", "doc_hash"], maintain_order=True
        ):
            spans = [
                {"start": r["char_start"], "end": r["char_end"], **{k: r[k] for k in SPAN_FIELDS}}
                for r in part.iter_rows(named=True)
            ]
            lines.append(
                json.dumps(
                    {"corpus": corpus, "doc_id": doc_id, "doc_hash": doc_hash, "spans": spans},
                    ensure_ascii=False,
                )
            )
        text = "".join(line + "\n" for line in lines)
    elif fmt == "csv":
        text = table.write_csv()
    elif fmt != "parquet":
        raise AnnotationError(f"--format {fmt}: use jsonl, csv or parquet")
    if out is None:
        if fmt == "parquet":
            raise AnnotationError("--format parquet needs --out FILE")
        return text
    if fmt == "parquet":
        write_new(out, table.write_parquet, force)
    else:
        write_new(out, lambda tmp: tmp.write_text(text), force)
    return None


_KEY = ("corpus", "doc_id", "char_start", "char_end", "annotator", "created", "label")  # one action
_REQUIRED = {"corpus", "doc_id", "doc_hash", "char_start", "char_end", "token", "action", "annotator", "created"}  # fmt: skip
_INTEGERS = {"char_start", "char_end", "rank"}
_REALS = {"nll", "created", "undone"}
_MISSING = object()
_INT64 = 2**63  # SQLite's integers are 64-bit


def check_row(
    values: dict[str, Any], where: str, names: dict[str, str] | None = None, lenient: bool = False
) -> dict[str, Any]:
    """One row to import with each field of its column's type, or an AnnotationError naming
    the row (`where`) and the field (as `names` calls it): so a bad file fails whole, before
    anything is written. `lenient` (a table format) takes numbers written as text."""
    row: dict[str, Any] = {"id": None}
    for column in COLUMNS[1:]:
        name = _name(names, column)
        value = values.get(column, _MISSING)
        if value is None or value is _MISSING:
            if column in _REQUIRED:
                what = "no field" if value is _MISSING else "an empty field"
                raise _bad_row(where, f"{what} '{name}'", "give it")
            row[column] = "" if column in OPTIONAL_TEXT else None
        elif column in _INTEGERS:
            row[column] = _integer(value, lenient, where, name)
        elif column in _REALS:
            row[column] = _real(value, lenient, where, name)
        else:
            row[column] = _text(value, lenient, where, name)
    if row["action"] not in ("label", "skip"):
        raise _bad_row(
            where, f"'{_name(names, 'action')}' is {_shown(row['action'])}", "use 'label' or 'skip'"
        )
    if row["action"] == "label" and not row["label"]:
        raise _bad_row(where, "a label with no 'label'", "give the task, or make it a skip")
    if row["action"] == "skip" and row["label"] is not None:
        raise _bad_row(where, f"a skip with a label ({_shown(row['label'])})", "drop the label")
    if not 0 <= row["char_start"] <= row["char_end"]:
        start, end = _name(names, "char_start"), _name(names, "char_end")
        raise _bad_row(
            where,
            f"'{start}' {row['char_start']} and '{end}' {row['char_end']} are no span",
            f"need 0 <= {start} <= {end}",
        )
    return row


def _name(names: dict[str, str] | None, column: str) -> str:
    """What the file calls a column (JSONL: start and end for char_start and char_end)."""
    return (names or {}).get(column, column)


def _bad_row(where: str, what: str, todo: str) -> AnnotationError:
    """A bad import row: where it is, what is wrong, what to do."""
    return AnnotationError(f"{where}: {what}; {todo}, or remove that row (nothing was imported)")


def _shown(value: object) -> str:
    """A value in an error message: one line, short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _integer(value: object, lenient: bool, where: str, name: str) -> int:
    """An INTEGER column's value (not a bool, within SQLite's 64 bits)."""
    number: object = value
    if lenient and isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,30}\s*", value):
        number = int(value)
    elif lenient and isinstance(value, float) and value.is_integer():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int):
        raise _bad_row(
            where, f"'{name}' is {_shown(value)}, not a whole number", "write a whole number"
        )
    if not -_INT64 <= number < _INT64:
        raise _bad_row(where, f"'{name}' is {_shown(value)}, too large", "write a 64-bit number")
    return number


def _real(value: object, lenient: bool, where: str, name: str) -> float:
    """A REAL column's value, finite (SQLite would store NaN as NULL)."""
    number: float | None = None
    try:
        if lenient and isinstance(value, str):
            number = float(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
    except (ValueError, OverflowError):
        number = None
    if number is None or not math.isfinite(number):
        raise _bad_row(where, f"'{name}' is {_shown(value)}, not a finite number", "write a number")
    return number


def _text(value: object, lenient: bool, where: str, name: str) -> str:
    """A TEXT column's value, encodable as UTF-8 (JSON can hold lone surrogates)."""
    if lenient and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _bad_row(where, f"'{name}' is {_shown(value)}, not text", "write a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise _bad_row(where, f"'{name}' is not valid text ({e.reason})", "write UTF-8 text") from e
    return value


def read_export(path: Path) -> pl.DataFrame:
    """The rows of an export file (any of the three formats), each checked: a bad one is one
    line naming it (file:line for JSONL, the row for CSV and Parquet)."""
    if not path.is_file():
        raise AnnotationError(f"{path}: no such file; check the path")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(path)
    elif suffix in (".csv", ".parquet"):
        table = _read_table(path, suffix[1:])
        _require_columns(table.columns, f"{path}: ")
        rows = [
            check_row(r, f"{path}: row {n} after the header", lenient=True)
            for n, r in enumerate(table.iter_rows(named=True), 1)
        ]
    else:
        raise AnnotationError(
            f"{path}: unknown format '{suffix}'; give a .jsonl, .csv or .parquet export"
        )
    return pl.DataFrame(rows, schema=_SCHEMA) if rows else pl.DataFrame(schema=_SCHEMA)


def _read_table(path: Path, kind: str) -> pl.DataFrame:
    """A CSV (every column as text, checked row by row after) or Parquet file."""
    try:
        if kind == "parquet":
            return pl.read_parquet(path)
        data = path.read_bytes()
        data.decode("utf-8")
        return pl.read_csv(data, infer_schema=False)
    except UnicodeDecodeError as e:
        raise AnnotationError(f"{path}: not valid UTF-8 at byte offset {e.start}") from e
    except (
        Exception,
        pl.exceptions.PanicException,
    ) as e:  # polars raises many types for a damaged file
        reason = " ".join(str(e).split()[:30]) or type(e).__name__
        raise AnnotationError(f"{path}: cannot be read as {kind} ({reason})") from e


_JSONL_NAMES = {"char_start": "start", "char_end": "end"}


def _jsonl_rows(path: Path) -> list[dict[str, Any]]:
    """The spans of a JSONL export, one row each, checked."""
    import json

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise AnnotationError(f"{path}: not valid UTF-8 at byte offset {e.start}") from e
    rows = []
    # split on newlines only: a string in a line may hold U+2028 or other line breaks
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except (ValueError, RecursionError) as e:
            raise AnnotationError(
                f"{path}:{n}: not valid JSON ({e}); fix or remove that line"
            ) from e
        if not isinstance(doc, dict):
            raise AnnotationError(
                f"{path}:{n}: expected a JSON object with corpus, doc_id, doc_hash and spans, got {_shown(doc)}"
            )
        spans = doc.get("spans", _MISSING)
        if not isinstance(spans, list):
            what = "no field 'spans'" if spans is _MISSING else f"'spans' is {_shown(spans)}"
            raise AnnotationError(
                f"{path}:{n}: {what}, not a list of spans; fix or remove that line"
            )
        for i, span in enumerate(spans, 1):
            where = f"{path}:{n}: span {i}"
            if not isinstance(span, dict):
                raise _bad_row(
                    where, f"{_shown(span)} is not a JSON object", "write an object per span"
                )
            values = {
                k: span[v]
                for k, v in {**{c: c for c in SPAN_FIELDS}, **_JSONL_NAMES}.items()
                if v in span
            }
            values.update({k: doc[k] for k in ("corpus", "doc_id", "doc_hash") if k in doc})
            rows.append(check_row(values, where, _JSONL_NAMES))
    return rows
