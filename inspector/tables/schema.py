"""The token table: its schema, and reading and writing it with its run settings.

Parquet keeps the settings in the file's key-value metadata. CSV and JSONL get them in a
sidecar `<file>.settings.json`; CSV stores list columns as JSON arrays in one cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from inspector.errors import ExportError, message, os_reason
from inspector.files import atomic_path, check_new_file
from inspector.tables.integrity import (
    SEAL_KEY,
    TableError,
    parquet_settings,
    seal,
    settings_json,
    sidecar_settings,
    sidecar_text,
)  # fmt: skip
from taggers.tagger import TAG_COLUMNS

SCORE_SCHEMA: dict[str, Any] = {
    "doc_id": pl.String,
    "pos": pl.Int64,
    "token_id": pl.Int64,
    "token": pl.String,
    "char_start": pl.Int64,
    "char_end": pl.Int64,
    "nll": pl.Float64,
    "prob": pl.Float64,
    "rank": pl.Int64,
    "entropy": pl.Float64,
    "top_ids": pl.List(pl.Int64),
    "top_tokens": pl.List(pl.String),
    "top_probs": pl.List(pl.Float32),
    "ctx_len": pl.Int32,  # tokens the prediction saw, the document-start token included
}
TAG_SCHEMA: dict[str, Any] = {  # the tagger's columns (taggers.tagger.TAG_COLUMNS)
    name: {str: pl.String, int: pl.Int64, bool: pl.Boolean}[kind]
    for name, kind in TAG_COLUMNS.items()
}
TABLE_SCHEMA: dict[str, Any] = {**SCORE_SCHEMA, **TAG_SCHEMA}
LIST_COLUMNS = [name for name, dtype in TABLE_SCHEMA.items() if isinstance(dtype, pl.List)]
SETTINGS_KEY = "inspector.settings"
FORMATS = (".parquet", ".csv", ".jsonl")
ROW_GROUP = 8192  # rows per Parquet row group


__all__ = ["TableError"]  # raised here, defined with the checks of what is read back


def settings_sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".settings.json")


def write_table(
    table: pl.DataFrame, path: Path, settings: dict[str, Any], force: bool = False,
    option: str = "--out",
) -> list[Path]:  # fmt: skip
    """Write `table` and its settings to `path` (format from the extension), atomically.

    An existing file is never replaced unless `force`; returns the paths written. A CSV or
    JSONL table and its settings sidecar are both written to temporary files first and
    renamed only when both are complete, so a failed write (a full disk) leaves the old pair
    as it was: an ExportError naming the file, the reason and `option` to choose another.
    """
    suffix = path.suffix.lower()
    targets = check_table_output(path, force)
    text = settings_json(settings)
    metadata = {SETTINGS_KEY: text, SEAL_KEY: seal(text)}  # an edit of the settings is found
    writing = path
    try:
        if suffix == ".parquet":
            with atomic_path(path) as tmp:
                # small row groups: a reader after a few documents skips the rest by statistics
                table.write_parquet(tmp, metadata=metadata, row_group_size=ROW_GROUP)
        else:
            sidecar = settings_sidecar(path)
            with atomic_path(path) as tmp, atomic_path(sidecar) as tmp_sidecar:
                if suffix == ".csv":
                    _flatten_lists(table).write_csv(tmp)
                else:
                    table.write_ndjson(tmp)
                writing = sidecar
                tmp_sidecar.write_text(sidecar_text(settings))
    except Exception as e:  # polars reports a failed write as its own error: see os_reason
        reason = os_reason(e)
        if reason is None:
            raise
        raise ExportError(
            message("write_failed", path=writing, reason=reason, option=option)
        ) from e
    return targets


def check_table_output(path: Path, force: bool = False) -> list[Path]:
    """What `write_table` would refuse about `path` (format, existing files, folder), found
    before any scoring; returns the files it will write (the table, and a sidecar for text)."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ExportError(message("export_format", path=path, suffix=suffix or "(none)"))
    targets = [path] if suffix == ".parquet" else [path, settings_sidecar(path)]
    for target in targets:  # both checked before either is written
        check_new_file(target, force)
    return targets


def _flatten_lists(table: pl.DataFrame) -> pl.DataFrame:
    """List columns as JSON array text, so a CSV cell holds them exactly."""
    return table.with_columns(
        pl.struct(pl.col(c).alias("v")).struct.json_encode().str.slice(5).str.head(-1).alias(c)
        for c in LIST_COLUMNS
        if c in table.columns
    )


def read_table(
    path: Path, schema: dict[str, Any] | None = None
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """A token table (or the part of one `schema` names) and its settings; a clear error if not."""
    schema = schema or TABLE_SCHEMA
    suffix = path.suffix.lower()
    if not path.is_file():
        raise TableError(message("missing_path", path=path))
    try:
        if suffix == ".parquet":
            meta = pl.read_parquet_metadata(path)
            table = pl.read_parquet(path)
            settings = parquet_settings(meta, path)
        else:
            sidecar = settings_sidecar(path)
            settings = sidecar_settings(sidecar.read_text(), sidecar) if sidecar.is_file() else {}
            if suffix == ".csv":
                table = pl.read_csv(
                    path, schema_overrides={c: pl.String for c in [*LIST_COLUMNS, "word", "token"]}
                )
                table = table.with_columns(
                    pl.col(c).str.json_decode(TABLE_SCHEMA[c])
                    for c in LIST_COLUMNS
                    if c in table.columns
                )
            elif suffix == ".jsonl":
                table = pl.read_ndjson(path)
            else:
                raise TableError(message("table_format", path=path, suffix=suffix or "(none)"))
    except TableError:
        raise
    except Exception as e:  # polars and json raise many types for a damaged file
        raise TableError(
            message(
                "table_unreadable",
                path=path,
                value=str(e).splitlines()[0] if str(e) else type(e).__name__,
            )
        ) from e
    missing = [c for c in schema if c not in table.columns]
    if missing:
        raise TableError(message("table_columns", path=path, missing=", ".join(missing)))
    try:
        return table.cast(schema).select(list(schema)), settings  # type: ignore[arg-type]
    except pl.exceptions.PolarsError as e:  # text where numbers belong, say
        reason = (str(e).splitlines() or [type(e).__name__])[0][:120]
        raise TableError(message("table_unreadable", path=path, value=reason)) from e
