"""Readers: paths on disk to `Document`s, with one clear error per thing that can go wrong.

Formats: `.txt`/`.md` (one file is one document, id = file name, or the path relative to
the folder given), `.jsonl`/`.ndjson` (one object per line, a text field and an optional
`id`), `.csv`/`.parquet` (a text column and an optional `id` column), and folders,
read recursively in sorted order.

Hostile files get the same one-line errors: UTF-16/UTF-32 text is named as such (with the
iconv line that converts it), a JSON `\\ud800` escape without its pair (a lone surrogate, which
no encoder accepts) and nesting too deep for the parser are refused with the file and line,
and names taken from a file are shown with control characters escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from corpora.decoding import WIDE_SAMPLE, kind, names, not_utf8, read_text, show
from corpora.document import Document
from corpora.errors import CorpusError, message
from corpora.streams import (
    CORPUS_MB_VARIABLE,
    DECOMPRESSION_ERRORS,
    check_regular,
    corpus_limit,
    document_limit,
    open_binary,
    read_failed,
    split_suffix,
    too_long,
)  # fmt: skip
from corpora.tables import is_dataset, read_dataset, read_table

TEXT_SUFFIXES = {".txt", ".md"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
TABLE_SUFFIXES = {".csv", ".parquet", ".arrow"}
SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES | TABLE_SUFFIXES
STREAMED = TEXT_SUFFIXES | JSONL_SUFFIXES | {".csv"}  # may also come compressed
SURROGATE = re.compile("[\ud800-\udfff]")


def read_corpus(
    paths: Sequence[str | Path], text_field: str = "text", text_column: str = "text"
) -> list[Document]:
    """All documents under `paths`, in order; ids are unique; at least one has text. Held
    whole, so at most `corpus_limit()` characters in all (`iter_corpus` streams any size)."""
    docs, size, limit = [], 0, corpus_limit()
    for doc in iter_corpus(paths, text_field, text_column):
        size += len(doc.text)
        if size > limit:  # a bomb of many small documents stops here too
            shown = ", ".join(str(p) for p in paths)
            raise CorpusError(message("corpus_too_big", paths=shown, mb=f"{limit / 1e6:g}",
                                      variable=CORPUS_MB_VARIABLE))  # fmt: skip
        docs.append(doc)
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
                    message(
                        "duplicate_id", doc_id=show(doc.id), first=seen[doc.id], second=doc.source
                    )
                )
            seen[doc.id] = doc.source
            yield doc


def _read_path(path: Path, text_field: str, text_column: str) -> Iterator[Document]:
    if not path.exists():
        raise CorpusError(message("missing_path", path=path))
    if path.is_dir() and is_dataset(path):
        yield from read_dataset(path, path.name, _either(text_column, text_field))
    elif path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and _readable(p)
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            raise CorpusError(message("empty_folder", path=path))
        for file in files:
            yield from _read_file(file, file.relative_to(path).as_posix(), text_field, text_column)
    else:
        yield from _read_file(path, path.name, text_field, text_column)


def _either(mine: str, other: str) -> str:
    """The text's name for this kind of file: its own option (--text-field for JSONL,
    --text-column for tables), else the other one when only that was given (people give
    either; neither is ignored)."""
    return other if mine == "text" else mine


def _readable(path: Path) -> bool:
    """Whether a file in a folder is read: a known format, compressed only where streamed."""
    suffix, compression = split_suffix(path)
    return suffix in (STREAMED if compression else SUFFIXES)


def _read_file(path: Path, name: str, text_field: str, text_column: str) -> Iterator[Document]:
    check_regular(path)
    suffix, compression = split_suffix(path)
    if not _readable(path):
        if not compression:  # a program or an image is named as binary, whatever its name
            with open_binary(path) as f:
                head = f.read(WIDE_SAMPLE)
            if b"\0" in head:
                raise not_utf8(path, head, "binary", head.index(b"\0"))
        shown = "".join(path.suffixes[-2:]).lower() if compression else suffix
        raise CorpusError(message("unknown_format", path=path, suffix=shown or "(none)"))
    if suffix in TEXT_SUFFIXES:
        yield Document(id=name, text=read_text(path), meta={"path": str(path)}, source=str(path))
    elif suffix in JSONL_SUFFIXES:
        yield from _read_jsonl(path, name, _either(text_field, text_column))
    else:
        yield from read_table(path, name, _either(text_column, text_field))


def _lone_surrogate(obj: dict[str, Any], text_field: str) -> tuple[str, str] | None:
    """Where ("the text", "field 'x'" or "a field name") and which lone surrogate a parsed
    JSONL object holds, if any. `json` turns a `\\ud800` escape without its pair into a str
    that no encoder accepts, so the text would fail much later, when encoded or hashed."""
    for key, value in obj.items():
        if found := SURROGATE.search(key):
            return "a field name", found.group()
        where = "the text" if key == text_field else f"field '{show(key)}'"
        stack: list[Any] = [value]
        while stack:  # a loop, not recursion: the object may be nested near the parser's limit
            item = stack.pop()
            if isinstance(item, str):
                if found := SURROGATE.search(item):
                    return where, found.group()
            elif isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
    return None


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a JSONL file, read line by line; bad bytes name their offset."""
    offset, limit = 0, document_limit()
    check_regular(path)
    try:
        with open_binary(path) as f:
            for lineno, raw in enumerate(iter(lambda: f.readline(limit + 1), b""), start=1):
                if len(raw) > limit and not raw.endswith(b"\n"):  # read no further: a bomb?
                    raise too_long(f"{path}:{lineno}", limit)
                nul = raw.find(b"\x00")
                if nul >= 0:
                    raise not_utf8(path, _head(f), "binary", offset + nul)
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise not_utf8(path, _head(f), "bad_utf8", offset + e.start) from e
                offset += len(raw)
                yield lineno, line.removeprefix("\ufeff") if lineno == 1 else line
    except DECOMPRESSION_ERRORS as e:
        raise read_failed(path, e) from e


def _field(obj: dict[str, Any], field: str, path: Path, lineno: int) -> Any:
    """`obj[field]`, or with a dotted path (`meta.body`) the field nested under it; a missing
    step names the fields where it was looked for."""
    if field in obj:
        return obj[field]
    value: Any = obj
    for step in field.split(".") if "." in field else [field]:
        if not isinstance(value, dict) or step not in value:
            here = list(value) if isinstance(value, dict) else []
            raise CorpusError(
                message(
                    "missing_field", path=path, line=lineno, field=show(field), fields=names(here)
                )  # fmt: skip
            )
        value = value[step]
    return value


def _head(f: Any) -> bytes:
    """The first bytes of the open binary file `f` (read when a line turns out not UTF-8)."""
    f.seek(0)
    return f.read(WIDE_SAMPLE)


def _read_jsonl(path: Path, name: str, text_field: str) -> Iterator[Document]:
    for lineno, line in _jsonl_lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise CorpusError(message("bad_jsonl", path=path, line=lineno, reason=e.msg)) from e
        except RecursionError as e:
            raise CorpusError(message("nested_jsonl", path=path, line=lineno)) from e
        except ValueError as e:  # an integer too long to convert, for one
            reason = (str(e).splitlines() or ["a bad value"])[0].split(";")[0]
            raise CorpusError(message("bad_jsonl", path=path, line=lineno, reason=reason)) from e
        if not isinstance(obj, dict):
            raise CorpusError(message("jsonl_not_object", path=path, line=lineno, kind=kind(obj)))
        if "\\u" in line and (lone := _lone_surrogate(obj, text_field)):
            where, char = lone
            raise CorpusError(
                message("lone_surrogate", path=path, line=lineno, where=where, char=show(char))
            )
        value = _field(obj, text_field, path, lineno)
        if not isinstance(value, str):
            raise CorpusError(
                message(
                    "field_not_text",
                    path=path,
                    line=lineno,
                    field=show(text_field),
                    kind=kind(value),
                )
            )
        try:
            doc_id = str(obj["id"]) if obj.get("id") is not None else f"{name}:{lineno}"
        except RecursionError as e:  # an id nested as deep as the parser allows
            raise CorpusError(message("nested_jsonl", path=path, line=lineno)) from e
        meta: dict[str, Any] = {k: v for k, v in obj.items() if k not in (text_field, "id")}
        meta["line"] = lineno
        yield Document(id=doc_id, text=value, meta=meta, source=f"{path}:{lineno}")


def read_for_browsing(
    paths: list[Path], text_field: str, text_column: str
) -> tuple[list[Document], list[str]]:
    """The documents of every path that reads, and one line for each that does not: the app
    opens what it can and shows the rest. Nothing readable at all is an error."""
    docs: list[Document] = []
    problems: list[str] = []
    for path in paths:
        try:
            docs.extend(d for d in read_corpus([path], text_field, text_column) if d.text)
        except CorpusError as e:
            problems.append(str(e))
    if not docs:
        raise CorpusError("; ".join(problems))
    if len({d.id for d in docs}) != len(docs):
        read_corpus(paths, text_field, text_column)  # raises the duplicate-id error, naming both
    return docs, problems
