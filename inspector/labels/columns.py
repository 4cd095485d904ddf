"""The one spec of a label row: its columns, their SQL and polars types, and the checks a
row from outside (an import) passes before it is written.

The store's table, its reads, the exports and the imports all follow `SPEC`; `Label` is
what annotation mode writes, its fields a subset of it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import polars as pl

from inspector.errors import InspectorError, message

CONTEXT_CHARS = 80  # of the document kept on each side of a labelled span
# an annotator's name given in a browser (a URL of `inspector serve`, or the app's prompt)
ANNOTATOR_NAME = re.compile(r"[\w.@+][\w.@+-]{0,63}")  # not "-...": never read as an option

# name: (SQL declaration, polars type). A column without a default that is NOT NULL is
# required in an import; the text columns with a default may be absent (older exports).
SPEC: dict[str, tuple[str, Any]] = {
    "id": ("INTEGER PRIMARY KEY", pl.Int64),
    "corpus": ("TEXT NOT NULL", pl.String),  # corpus hash
    "doc_id": ("TEXT NOT NULL", pl.String),
    "doc_hash": ("TEXT NOT NULL", pl.String),  # sha256 of the document text when labelled
    "char_start": ("INTEGER NOT NULL", pl.Int64),  # the labelled span in that text
    "char_end": ("INTEGER NOT NULL", pl.Int64),
    "token": ("TEXT NOT NULL", pl.String),
    "label": ("TEXT", pl.String),  # the task; NULL for a skip
    "action": ("TEXT NOT NULL CHECK (action IN ('label', 'skip'))", pl.String),
    "note": ("TEXT NOT NULL DEFAULT ''", pl.String),
    "annotator": ("TEXT NOT NULL", pl.String),
    "model": ("TEXT NOT NULL DEFAULT ''", pl.String),
    "nll": ("REAL", pl.Float64),
    "rank": ("INTEGER", pl.Int64),
    "heuristic": ("TEXT", pl.String),  # the heuristic tag at that moment
    "heuristic_reason": ("TEXT", pl.String),
    "corpus_path": ("TEXT NOT NULL DEFAULT ''", pl.String),  # the file(s) the text came from
    "context_before": ("TEXT NOT NULL DEFAULT ''", pl.String),  # CONTEXT_CHARS around the
    "context_after": ("TEXT NOT NULL DEFAULT ''", pl.String),  # span: reads without the corpus
    "created": ("REAL NOT NULL", pl.Float64),  # unix time
    "undone": ("REAL", pl.Float64),  # set by undo; the row stays
}
COLUMNS = tuple(SPEC)
POLARS_SCHEMA = {name: dtype for name, (_, dtype) in SPEC.items()}
ADDED_IN_2 = ("corpus_path", "context_before", "context_after")  # schema 1 files lack them
OPTIONAL_TEXT = tuple(c for c, (sql, _) in SPEC.items() if "DEFAULT ''" in sql)
_REQUIRED = {c for c, (sql, _) in SPEC.items() if "NOT NULL" in sql and "DEFAULT" not in sql}
_INTEGERS = {c for c, (sql, _) in SPEC.items() if sql == "INTEGER" or sql.startswith("INTEGER N")}
_REALS = {c for c, (sql, _) in SPEC.items() if sql.startswith("REAL")}


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


def require_columns(columns: list[str], where: str) -> None:
    """Refuse an export without every column a label needs (undone and the optional text
    columns may be absent)."""
    missing = [
        c for c in COLUMNS[1:] if c not in columns and c != "undone" and c not in OPTIONAL_TEXT
    ]
    if missing:
        raise AnnotationError(message("export_columns", where=where, missing=", ".join(missing)))


MISSING = object()
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
        value = values.get(column, MISSING)
        if value is None or value is MISSING:
            if column in _REQUIRED:
                what = "no field" if value is MISSING else "an empty field"
                raise bad_row(where, f"{what} '{name}'", "give it")
            row[column] = "" if column in OPTIONAL_TEXT else None
        elif column in _INTEGERS:
            row[column] = _integer(value, lenient, where, name)
        elif column in _REALS:
            row[column] = _real(value, lenient, where, name)
        else:
            row[column] = _text(value, lenient, where, name)
    if row["action"] not in ("label", "skip"):
        raise bad_row(
            where,
            f"'{_name(names, 'action')}' is {shown_value(row['action'])}",
            "use 'label' or 'skip'",
        )
    if row["action"] == "label" and not row["label"]:
        raise bad_row(where, "a label with no 'label'", "give the task, or make it a skip")
    if row["action"] == "skip" and row["label"] is not None:
        raise bad_row(where, f"a skip with a label ({shown_value(row['label'])})", "drop the label")
    if not 0 <= row["char_start"] <= row["char_end"]:
        start, end = _name(names, "char_start"), _name(names, "char_end")
        raise bad_row(
            where,
            f"'{start}' {row['char_start']} and '{end}' {row['char_end']} are no span",
            f"need 0 <= {start} <= {end}",
        )
    return row


def _name(names: dict[str, str] | None, column: str) -> str:
    """What the file calls a column (JSONL: start and end for char_start and char_end)."""
    return (names or {}).get(column, column)


def bad_row(where: str, what: str, todo: str) -> AnnotationError:
    """A bad import row: where it is, what is wrong, what to do."""
    return AnnotationError(message("bad_row", where=where, what=what, todo=todo))


def shown_value(value: object) -> str:
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
        raise bad_row(
            where, f"'{name}' is {shown_value(value)}, not a whole number", "write a whole number"
        )
    if not -_INT64 <= number < _INT64:
        raise bad_row(
            where, f"'{name}' is {shown_value(value)}, too large", "write a 64-bit number"
        )
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
        raise bad_row(
            where, f"'{name}' is {shown_value(value)}, not a finite number", "write a number"
        )
    return number


def _text(value: object, lenient: bool, where: str, name: str) -> str:
    """A TEXT column's value, encodable as UTF-8 (JSON can hold lone surrogates)."""
    if lenient and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise bad_row(where, f"'{name}' is {shown_value(value)}, not text", "write a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise bad_row(where, f"'{name}' is not valid text ({e.reason})", "write UTF-8 text") from e
    return value
