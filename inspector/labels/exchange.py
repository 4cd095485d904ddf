"""Labels in and out: JSONL (one document per line with its spans, as span annotation tools
exchange them), CSV and Parquet; every imported row checked before anything is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from inspector.errors import message
from inspector.labels.columns import (
    COLUMNS,
    MISSING,
    POLARS_SCHEMA,
    AnnotationError,
    bad_row,
    check_row,
    require_columns,
    shown_value,
)  # fmt: skip

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

    from inspector.files import text_or_file

    if fmt not in ("jsonl", "csv", "parquet"):
        raise AnnotationError(message("labels_format", fmt=fmt))

    def text() -> str:
        if fmt == "csv":
            return str(table.write_csv())
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
        return "".join(line + "\n" for line in lines)

    return text_or_file(table, fmt, text, out, force, AnnotationError)


def read_export(path: Path) -> pl.DataFrame:
    """The rows of an export file (any of the three formats), each checked: a bad one is one
    line naming it (file:line for JSONL, the row for CSV and Parquet)."""
    if not path.is_file():
        raise AnnotationError(message("export_missing", path=path))
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(path)
    elif suffix in (".csv", ".parquet"):
        table = _read_table(path, suffix[1:])
        require_columns(table.columns, f"{path}: ")
        rows = [
            check_row(r, f"{path}: row {n} after the header", lenient=True)
            for n, r in enumerate(table.iter_rows(named=True), 1)
        ]
    else:
        raise AnnotationError(message("export_suffix", path=path, suffix=suffix))
    return pl.DataFrame(rows, schema=POLARS_SCHEMA) if rows else pl.DataFrame(schema=POLARS_SCHEMA)


def _read_table(path: Path, kind: str) -> pl.DataFrame:
    """A CSV (every column as text, checked row by row after) or Parquet file."""
    try:
        if kind == "parquet":
            return pl.read_parquet(path)
        data = path.read_bytes()
        data.decode("utf-8")
        return pl.read_csv(data, infer_schema=False)
    except UnicodeDecodeError as e:
        raise AnnotationError(message("export_utf8", path=path, offset=e.start)) from e
    except (
        Exception,
        pl.exceptions.PanicException,
    ) as e:  # polars raises many types for a damaged file
        reason = " ".join(str(e).split()[:30]) or type(e).__name__
        raise AnnotationError(
            message("export_unreadable", path=path, kind=kind, reason=reason)
        ) from e


_JSONL_NAMES = {"char_start": "start", "char_end": "end"}


def _jsonl_rows(path: Path) -> list[dict[str, Any]]:
    """The spans of a JSONL export, one row each, checked."""
    import json

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise AnnotationError(message("export_utf8", path=path, offset=e.start)) from e
    rows = []
    # split on newlines only: a string in a line may hold U+2028 or other line breaks
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except (ValueError, RecursionError) as e:
            raise AnnotationError(message("export_json", path=path, n=n, reason=e)) from e
        if not isinstance(doc, dict):
            raise AnnotationError(
                message("export_not_object", path=path, n=n, got=shown_value(doc))
            )
        spans = doc.get("spans", MISSING)
        if not isinstance(spans, list):
            what = "no field 'spans'" if spans is MISSING else f"'spans' is {shown_value(spans)}"
            raise AnnotationError(message("export_spans", path=path, n=n, what=what))
        for i, span in enumerate(spans, 1):
            where = f"{path}:{n}: span {i}"
            if not isinstance(span, dict):
                raise bad_row(
                    where, f"{shown_value(span)} is not a JSON object", "write an object per span"
                )
            values = {
                k: span[v]
                for k, v in {**{c: c for c in SPAN_FIELDS}, **_JSONL_NAMES}.items()
                if v in span
            }
            values.update({k: doc[k] for k in ("corpus", "doc_id", "doc_hash") if k in doc})
            rows.append(check_row(values, where, _JSONL_NAMES))
    return rows
