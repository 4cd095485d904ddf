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

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import polars as pl

from inspector.errors import message
from inspector.labels.columns import (
    ADDED_IN_2,
    COLUMNS,
    POLARS_SCHEMA,
    SPEC,
    AnnotationError,
    Label,
    check_row,
    require_columns,
)  # fmt: skip

SCHEMA_VERSION = 2  # 2 added corpus_path, context_before, context_after (v1 files upgrade on open)
APPLICATION_ID = 0x494E5350  # "INSP": marks the file as an inspector annotation database
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database
WAIT_S = 2.0  # how long an action waits for another writer before saying the file is locked
IMPORT_WAIT_S = 10.0  # an import waits longer: the writer ahead may be another whole import
SCHEMA = (  # idempotent: two processes creating one new file at once both succeed
    "CREATE TABLE IF NOT EXISTS labels ("
    + ", ".join(f"{name} {sql}" for name, (sql, _) in SPEC.items())
    + ")",
    "CREATE INDEX IF NOT EXISTS labels_span ON labels (corpus, doc_id, char_start)",
)
_KEY = ("corpus", "doc_id", "char_start", "char_end", "annotator", "created", "label")  # one action


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
            raise AnnotationError(message("db_read_only", path=self.path))
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
        row = {**asdict(item), "action": "skip" if item.label is None else "label"}
        row["created"] = time.time()
        names = ", ".join(row)
        with self._write() as db:
            cur = db.execute(
                f"INSERT INTO labels ({names}) VALUES ({', '.join('?' for _ in row)})",
                tuple(row.values()),
            )
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
        require_columns(rows.columns, "")
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
        return pl.DataFrame(rows, schema=POLARS_SCHEMA, orient="row")


def _open(path: Path, readonly: bool) -> sqlite3.Connection:
    """Open (creating when allowed) and check the database. Everything is checked (the
    header, whose file it is, its schema version, its pages) before anything is written, so a
    file that is not ours, newer or damaged is left byte for byte as it was."""
    exists = path.exists()
    if readonly and not exists:
        raise AnnotationError(message("db_missing", path=path))
    if exists and not path.is_file():
        raise AnnotationError(message("db_not_file", path=path))
    if not exists and not path.parent.is_dir():
        raise AnnotationError(message("db_no_folder", path=path, parent=path.parent))
    empty = not exists or _check_header(path)
    uri = f"{path.absolute().as_uri()}?mode={'ro' if readonly else 'rwc'}"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=WAIT_S, isolation_level=None)
    except sqlite3.Error as e:
        raise AnnotationError(_explain(path, e)) from e
    try:
        version = _check_owner(db, path)
        ours = version > 0
        if ours:
            _check(db, path)  # reads only: a damaged file gets no journal-mode switch
            if not readonly and version < SCHEMA_VERSION:
                _upgrade(db)
        elif readonly:
            what = "an empty file" if empty else "an SQLite database with no tables"
            raise AnnotationError(message("db_not_ours", path=path, what=what))
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
        raise AnnotationError(message("db_unreadable", path=path, reason=e.strerror)) from e
    if head and head != SQLITE_HEADER:
        raise AnnotationError(message("db_not_sqlite", path=path))
    return not head


def _check_owner(db: sqlite3.Connection, path: Path) -> int:
    """The schema version of an inspector annotation database this inspector reads; 0 for
    an empty file; an AnnotationError for another program's file or a newer schema."""
    # one statement, so one snapshot: another process may be creating the file right now
    app_id, version, tables = db.execute(
        "SELECT (SELECT application_id FROM pragma_application_id),"
        " (SELECT user_version FROM pragma_user_version),"
        " (SELECT count(*) FROM sqlite_master WHERE type = 'table')"
    ).fetchone()
    if app_id not in (0, APPLICATION_ID):
        raise AnnotationError(message("db_foreign", path=path, app_id=app_id & 0xFFFFFFFF))
    if tables and app_id != APPLICATION_ID:
        raise AnnotationError(message("db_other_tables", path=path))
    if app_id == APPLICATION_ID and version > SCHEMA_VERSION:
        raise AnnotationError(message("db_newer", path=path, version=version, ours=SCHEMA_VERSION))
    return int(version or 1) if app_id == APPLICATION_ID else 0


@contextmanager
def _setting_up(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction to set the file up (create or upgrade its schema): it waits as
    long as an import would for the writer ahead (another process may be doing the same),
    commits on success, and leaves nothing on any error."""
    db.execute(f"PRAGMA busy_timeout = {int(IMPORT_WAIT_S * 1000)}")
    try:
        db.execute("BEGIN IMMEDIATE")
    finally:
        db.execute(f"PRAGMA busy_timeout = {int(WAIT_S * 1000)}")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        _rollback(db)
        raise


def _create(db: sqlite3.Connection, path: Path) -> None:
    """Give an empty database the schema, its application id and version, looking again at
    what is there first: another process may have just done it, and may be importing now."""
    with _setting_up(db):
        if not _check_owner(db, path):
            for statement in SCHEMA:
                db.execute(statement)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _upgrade(db: sqlite3.Connection) -> None:
    """Bring a version-1 file to this schema: the added columns, empty for the rows already
    there (nothing else changes), looking again at the columns first (another process may
    have just done it)."""
    with _setting_up(db):
        present = {r[1] for r in db.execute("PRAGMA table_info(labels)")}
        for column in ADDED_IN_2:
            if column not in present:
                db.execute(f"ALTER TABLE labels ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


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
    raise AnnotationError(message("db_damaged", path=path, problems=problems[0], more=more))


def _explain(path: Path, e: sqlite3.Error) -> str:
    """SQLite's error as one line that says what to do."""
    text = " ".join(str(e).split())
    if "locked" in text or "busy" in text:
        return message("db_locked", path=path)
    if "readonly" in text or "read-only" in text:
        return message("db_readonly", path=path)
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return message("db_corrupt", path=path, reason=text)
    if "disk is full" in text or "disk I/O error" in text:  # SQLITE_FULL, SQLITE_IOERR
        return message("db_full", path=path, reason=text)
    if "unable to open" in text:
        return message("db_cannot_open", path=path, reason=text)
    return message("db_error", path=path, reason=text)
