"""Readers: paths on disk to `Document`s, with one clear error per thing that can go wrong.

Formats: `.txt`/`.md` (one file is one document, id = file name, or the path relative to
the folder given), `.jsonl`/`.ndjson` (one object per line, a text field and an optional
`id`), `.csv`/`.parquet` (a text column and an optional `id` column), and folders,
read recursively in sorted order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from corpora.document import Document
from inspector.errors import CorpusError, message

TEXT_SUFFIXES = {".txt", ".md"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
TABLE_SUFFIXES = {".csv", ".parquet"}
SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES | TABLE_SUFFIXES


def read_corpus(
    paths: Sequence[str | Path], text_field: str = "text", text_column: str = "text"
) -> list[Document]:
    """All documents under `paths`, in order; ids are unique; at least one has text."""
    docs = list(iter_corpus(paths, text_field, text_column))
    if not any(d.text for d in docs):
        raise CorpusError(message("empty_corpus", paths=", ".join(str(p) for p in paths)))
    return docs


def iter_corpus(
    paths: Sequence[str | Path], text_field: str = "text", text_column: str = "text"
) -> Iterator[Document]:
    """The documents under `paths` one at a time (JSONL is read line by line), ids checked
    unique as they come; for corpora larger than memory."""
    seen: dict[str, str] = {}
    for raw in paths:
        for doc in _read_path(Path(raw), text_field, text_column):
            if doc.id in seen:
                raise CorpusError(
                    message("duplicate_id", doc_id=doc.id, first=seen[doc.id], second=doc.source)
                )
            seen[doc.id] = doc.source
            yield doc


def _read_path(path: Path, text_field: str, text_column: str) -> Iterator[Document]:
    if not path.exists():
        raise CorpusError(message("missing_path", path=path))
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.suffix.lower() in SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            raise CorpusError(message("empty_folder", path=path))
        for file in files:
            yield from _read_file(file, file.relative_to(path).as_posix(), text_field, text_column)
    else:
        yield from _read_file(path, path.name, text_field, text_column)


def _read_file(path: Path, name: str, text_field: str, text_column: str) -> Iterator[Document]:
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        yield Document(id=name, text=_read_text(path), meta={"path": str(path)}, source=str(path))
    elif suffix in JSONL_SUFFIXES:
        yield from _read_jsonl(path, name, text_field)
    elif suffix in TABLE_SUFFIXES:
        yield from _read_table(path, name, text_column)
    else:
        raise CorpusError(message("unknown_format", path=path, suffix=suffix or "(none)"))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise CorpusError(message("unreadable", path=path, reason=e.strerror or e)) from e


def _decode(path: Path, data: bytes) -> str:
    """UTF-8 text of a file; a NUL byte means binary, a bad sequence names its byte offset."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise CorpusError(message("binary", path=path, offset=nul))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorpusError(message("bad_utf8", path=path, offset=e.start)) from e
    return text.removeprefix("\ufeff")  # a UTF-8 byte-order mark is not text


def _read_text(path: Path) -> str:
    return _decode(path, _read_bytes(path))


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a JSONL file, read line by line; bad bytes name their offset."""
    offset = 0
    try:
        with path.open("rb") as f:
            for lineno, raw in enumerate(f, start=1):
                nul = raw.find(b"\x00")
                if nul >= 0:
                    raise CorpusError(message("binary", path=path, offset=offset + nul))
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise CorpusError(message("bad_utf8", path=path, offset=offset + e.start)) from e
                offset += len(raw)
                yield lineno, line.removeprefix("\ufeff") if lineno == 1 else line
    except OSError as e:
        raise CorpusError(message("unreadable", path=path, reason=e.strerror or e)) from e


def _read_jsonl(path: Path, name: str, text_field: str) -> Iterator[Document]:
    for lineno, line in _jsonl_lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise CorpusError(message("bad_jsonl", path=path, line=lineno, reason=e.msg)) from e
        if not isinstance(obj, dict):
            raise CorpusError(message("jsonl_not_object", path=path, line=lineno, kind=_kind(obj)))
        if text_field not in obj:
            fields = ", ".join(obj) or "none"
            raise CorpusError(
                message("missing_field", path=path, line=lineno, field=text_field, fields=fields)
            )
        value = obj[text_field]
        if not isinstance(value, str):
            raise CorpusError(
                message(
                    "field_not_text", path=path, line=lineno, field=text_field, kind=_kind(value)
                )
            )
        doc_id = str(obj["id"]) if obj.get("id") is not None else f"{name}:{lineno}"
        meta: dict[str, Any] = {k: v for k, v in obj.items() if k not in (text_field, "id")}
        meta["line"] = lineno
        yield Document(id=doc_id, text=value, meta=meta, source=f"{path}:{lineno}")


def _read_table(path: Path, name: str, text_column: str) -> Iterator[Document]:
    import polars as pl

    kind = path.suffix.lower().lstrip(".")
    data = _read_bytes(path)
    if kind == "csv":
        _decode(path, data)  # names the byte offset of bad UTF-8 before polars sees it
    try:
        if kind == "csv":
            frame = pl.read_csv(data, infer_schema_length=0)  # every column as text
        else:
            frame = pl.read_parquet(data)
    except Exception as e:  # polars raises several unrelated types for a bad file
        raise CorpusError(
            message("bad_table", path=path, kind=kind, reason=str(e).splitlines()[0])
        ) from e
    if text_column not in frame.columns:
        raise CorpusError(
            message(
                "missing_column", path=path, column=text_column, columns=", ".join(frame.columns)
            )
        )
    if frame.schema[text_column] != pl.String:
        raise CorpusError(
            message(
                "column_not_text", path=path, column=text_column, dtype=frame.schema[text_column]
            )
        )
    has_id = "id" in frame.columns
    for row_no, row in enumerate(frame.iter_rows(named=True), start=1):
        text = row[text_column] or ""
        doc_id = str(row["id"]) if has_id and row["id"] is not None else f"{name}:{row_no}"
        meta = {k: v for k, v in row.items() if k not in (text_column, "id")}
        meta["row"] = row_no
        yield Document(id=doc_id, text=text, meta=meta, source=f"{path}:{row_no}")
