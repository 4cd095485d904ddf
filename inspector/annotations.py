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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from inspector.errors import InspectorError

SCHEMA_VERSION = 1
APPLICATION_ID = 0x494E5350  # "INSP": marks the file as an inspector annotation database
SCHEMA = """
CREATE TABLE labels (
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
    created REAL NOT NULL,         -- unix time
    undone REAL                    -- set by undo; the row stays
);
CREATE INDEX labels_span ON labels (corpus, doc_id, char_start);
"""
COLUMNS = (
    "id", "corpus", "doc_id", "doc_hash", "char_start", "char_end", "token", "label", "action",
    "note", "annotator", "model", "nll", "rank", "heuristic", "heuristic_reason", "created", "undone",
)  # fmt: skip


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


class Store:
    """An open annotation database."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self.db = _open(path, readonly)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.readonly:
            raise AnnotationError(f"{self.path}: opened read-only; nothing can be saved to it")
        try:
            with self.db:  # one transaction: committed on success, rolled back on error
                yield self.db
        except sqlite3.OperationalError as e:
            raise AnnotationError(_explain(self.path, e)) from e

    def add(self, item: Label) -> int:
        """Save one label or skip, durably; returns its id."""
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO labels (corpus, doc_id, doc_hash, char_start, char_end, token, label, action,"
                " note, annotator, model, nll, rank, heuristic, heuristic_reason, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item.corpus, item.doc_id, item.doc_hash, item.char_start, item.char_end, item.token,
                    item.label, "skip" if item.label is None else "label", item.note, item.annotator,
                    item.model, item.nll, item.rank, item.heuristic, item.heuristic_reason, time.time(),
                ),
            )  # fmt: skip
            return int(cur.lastrowid or 0)

    def undo(self, annotator: str, corpus: str) -> dict[str, Any] | None:
        """Mark this annotator's last live action on this corpus as undone; returns it."""
        with self._write() as db:
            row = db.execute(
                "SELECT * FROM labels WHERE annotator = ? AND corpus = ? AND undone IS NULL"
                " ORDER BY id DESC LIMIT 1",
                (annotator, corpus),
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE labels SET undone = ? WHERE id = ?", (time.time(), row[0]))
            return dict(zip(COLUMNS, row, strict=True))

    def import_rows(self, rows: pl.DataFrame) -> int:
        """Add exported rows that are not here yet (same span, annotator, time and label);
        returns how many were added. One transaction: all or nothing."""
        missing = [
            c for c in COLUMNS[1:] if c not in rows.columns and c not in ("undone", "note", "model")
        ]
        if missing:
            raise AnnotationError(
                f"not an annotations export (missing columns: {', '.join(missing)})"
            )
        have = {
            tuple(r) for r in self.table(live_only=False)
            .select("corpus", "doc_id", "char_start", "char_end", "annotator", "created", "label")
            .iter_rows()
        }  # fmt: skip
        added = 0
        with self._write() as db:
            for r in rows.iter_rows(named=True):
                key = (
                    r["corpus"],
                    r["doc_id"],
                    r["char_start"],
                    r["char_end"],
                    r["annotator"],
                    r["created"],
                    r["label"],
                )
                if key in have:
                    continue
                have.add(key)
                db.execute(
                    f"INSERT INTO labels ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' for _ in COLUMNS[1:])})",
                    [(r.get(c) or "") if c in ("note", "model") else r.get(c) for c in COLUMNS[1:]],
                )
                added += 1
        return added

    def set_note(self, label_id: int, note: str) -> None:
        with self._write() as db:
            db.execute("UPDATE labels SET note = ? WHERE id = ?", (note, label_id))

    def table(self, corpus: str | None = None, live_only: bool = True) -> pl.DataFrame:
        """Every action (live ones only by default) as a DataFrame, oldest first."""
        sql = "SELECT * FROM labels"
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
    "created": pl.Float64, "undone": pl.Float64,
}  # fmt: skip


def _open(path: Path, readonly: bool) -> sqlite3.Connection:
    """Open (creating when allowed) and check the database; never writes to a foreign file."""
    exists = path.exists()
    if readonly and not exists:
        raise AnnotationError(f"{path}: no such annotation database; check the path")
    if exists and not path.is_file():
        raise AnnotationError(f"{path}: not a file; give the path of an annotation database")
    if not exists and not path.parent.is_dir():
        raise AnnotationError(
            f"{path}: the folder {path.parent} does not exist; create it or choose another --db"
        )
    uri = f"file:{path}?mode={'ro' if readonly else 'rwc'}"
    try:
        db = sqlite3.connect(
            uri, uri=True, timeout=2.0, isolation_level=None if readonly else "DEFERRED"
        )
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as e:
        raise AnnotationError(_explain(path, e)) from e
    if tables and app_id != APPLICATION_ID:
        db.close()
        raise AnnotationError(
            f"{path}: not an inspector annotation database (it holds other tables); choose another --db"
        )
    if app_id == APPLICATION_ID and version > SCHEMA_VERSION:
        db.close()
        raise AnnotationError(
            f"{path}: written by a newer inspector (schema {version}, this one reads {SCHEMA_VERSION}); upgrade inspector"
        )
    try:
        if app_id == APPLICATION_ID:
            if not readonly:
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = FULL")
                _check(db, path)
            return db
        if readonly:
            raise AnnotationError(f"{path}: an empty file, not an annotation database")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        with db:
            db.executescript(
                f"BEGIN; {SCHEMA} PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            )
        return db
    except sqlite3.DatabaseError as e:
        db.close()
        raise AnnotationError(_explain(path, e)) from e


def _check(db: sqlite3.Connection, path: Path) -> None:
    result = db.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise AnnotationError(
            f"{path}: the database is damaged ({result}); restore a copy, it was not changed"
        )


def _explain(path: Path, e: sqlite3.Error) -> str:
    text = str(e)
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

    from inspector.cachedir import write_new

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


def read_export(path: Path) -> pl.DataFrame:
    """The rows of an export file (any of the three formats), checked."""
    import json

    if not path.is_file():
        raise AnnotationError(f"{path}: no such file; check the path")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path).cast({k: v for k, v in _SCHEMA.items()}, strict=False)  # type: ignore[arg-type]
        if suffix == ".csv":
            return pl.read_csv(path, schema_overrides=_SCHEMA)
    except Exception as e:  # polars raises many types for a damaged file
        raise AnnotationError(
            f"{path}: cannot be read as {suffix[1:]} ({str(e).splitlines()[0]})"
        ) from e
    if suffix not in (".jsonl", ".ndjson"):
        raise AnnotationError(
            f"{path}: unknown format '{suffix}'; give a .jsonl, .csv or .parquet export"
        )
    rows = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise AnnotationError(f"{path}: not valid UTF-8 at byte offset {e.start}") from e
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            for span in doc["spans"]:
                rows.append(
                    {"corpus": doc["corpus"], "doc_id": doc["doc_id"], "doc_hash": doc["doc_hash"],
                     "char_start": span["start"], "char_end": span["end"], **{k: span.get(k) for k in SPAN_FIELDS}}
                )  # fmt: skip
        except (ValueError, KeyError, TypeError) as e:
            raise AnnotationError(
                f"{path}:{n}: not an annotations export line ({e}); fix or remove it"
            ) from e
    return pl.DataFrame(rows, schema=_SCHEMA) if rows else pl.DataFrame(schema=_SCHEMA)
