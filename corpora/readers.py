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

import codecs
import json
import re
import shlex
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from corpora.document import Document
from corpora.errors import CorpusError, message

TEXT_SUFFIXES = {".txt", ".md"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
TABLE_SUFFIXES = {".csv", ".parquet"}
SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES | TABLE_SUFFIXES
WIDE_SAMPLE = 4096  # bytes at the start of a file looked at to tell UTF-16/32 text from binary
BOMS = (  # UTF-32 first: its little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
SURROGATE = re.compile("[\ud800-\udfff]")


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
                    message(
                        "duplicate_id", doc_id=_show(doc.id), first=seen[doc.id], second=doc.source
                    )
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
    """UTF-8 text of a file; a NUL byte means binary, a bad sequence names its byte offset
    (UTF-16/32 text, which has both, is named as such)."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _not_utf8(path, data, "binary", nul)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _not_utf8(path, data, "bad_utf8", e.start) from e
    return text.removeprefix("\ufeff")  # a UTF-8 byte-order mark is not text


def _not_utf8(path: Path, head: bytes, problem: str, offset: int) -> CorpusError:
    """The error for a file that is not UTF-8: `problem` ("binary" or "bad_utf8") at byte
    `offset`, unless the file's first bytes `head` are UTF-16 or UTF-32 text, which a user
    converts rather than replaces."""
    encoding = _wide_encoding(head[:WIDE_SAMPLE])
    if encoding is None:
        return CorpusError(message(problem, path=path, offset=offset))
    return CorpusError(
        message(
            "wide_text",
            path=path,
            family=encoding[:6],
            encoding=encoding,
            quoted=shlex.quote(str(path)),
            suffix=path.suffix,
        )
    )


def _wide_encoding(head: bytes) -> str | None:
    """The iconv name of the UTF-16/UTF-32 text `head` starts, or None.

    After a byte-order mark (iconv then reads the order from it), the bytes must decode to
    mostly printable text, so binary files stay binary. Without a mark, the zero
    bytes must sit where that encoding puts them for mostly-Latin text (UTF-16LE: the odd
    bytes of many code units, hardly any even ones; UTF-32LE: the top byte of every unit),
    and the bytes must decode to mostly printable text too."""
    for bom, name in BOMS:
        if head.startswith(bom):
            rest = head[len(bom) :]
            endian = "LE" if bom[0] == 0xFF else "BE"
            return name if not rest or _mostly_text(rest, name + endian) else None
    for width, names in ((4, ("UTF-32LE", "UTF-32BE")), (2, ("UTF-16LE", "UTF-16BE"))):
        units = [head[i : i + width] for i in range(0, len(head) - width + 1, width)]
        if len(units) < 2:
            continue
        for name in names:
            step = 1 if name.endswith("LE") else -1  # zero[0]: the least significant byte
            zero = [sum(u[::step][k] == 0 for u in units) / len(units) for k in range(width)]
            if width == 4:
                pattern = zero[3] == 1 and zero[2] >= 0.9
            else:
                pattern = zero[1] >= 0.3 and zero[0] <= zero[1] / 4
            if pattern and _mostly_text(head[: len(units) * width], name):
                return name
    return None


def _mostly_text(data: bytes, encoding: str) -> bool:
    """Whether `data` decodes in `encoding` (its end may cut a character) to text that is
    at least 90% printable characters and whitespace."""
    try:
        text = codecs.getincrementaldecoder(encoding)("strict").decode(data, final=False)
    except UnicodeDecodeError:
        return False
    good = sum(c.isprintable() or c in "\t\n\r\f\v" for c in text)
    return bool(text) and good >= 0.9 * len(text)


def _read_text(path: Path) -> str:
    return _decode(path, _read_bytes(path))


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _show(text: str, limit: int = 60) -> str:
    """`text` (a name, field or id from a file) fit for a one-line message: control
    characters, lone surrogates and the like escaped, anything past `limit` cut."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")


def _names(names: Sequence[str], most: int = 20) -> str:
    """Field or column names for a message: escaped, at most `most` of them."""
    shown = ", ".join(_show(n) for n in names[:most]) or "none"
    return shown + (f", … ({len(names)} in all)" if len(names) > most else "")


def _lone_surrogate(obj: dict[str, Any], text_field: str) -> tuple[str, str] | None:
    """Where ("the text", "field 'x'" or "a field name") and which lone surrogate a parsed
    JSONL object holds, if any. `json` turns a `\\ud800` escape without its pair into a str
    that no encoder accepts, so the text would fail much later, when encoded or hashed."""
    for key, value in obj.items():
        if found := SURROGATE.search(key):
            return "a field name", found.group()
        where = "the text" if key == text_field else f"field '{_show(key)}'"
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
    offset = 0
    try:
        with path.open("rb") as f:
            for lineno, raw in enumerate(f, start=1):
                nul = raw.find(b"\x00")
                if nul >= 0:
                    raise _not_utf8(path, _head(f), "binary", offset + nul)
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise _not_utf8(path, _head(f), "bad_utf8", offset + e.start) from e
                offset += len(raw)
                yield lineno, line.removeprefix("\ufeff") if lineno == 1 else line
    except OSError as e:
        raise CorpusError(message("unreadable", path=path, reason=e.strerror or e)) from e


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
            raise CorpusError(message("jsonl_not_object", path=path, line=lineno, kind=_kind(obj)))
        if "\\u" in line and (lone := _lone_surrogate(obj, text_field)):
            where, char = lone
            raise CorpusError(
                message("lone_surrogate", path=path, line=lineno, where=where, char=_show(char))
            )
        if text_field not in obj:
            raise CorpusError(
                message(
                    "missing_field",
                    path=path,
                    line=lineno,
                    field=_show(text_field),
                    fields=_names(list(obj)),
                )
            )
        value = obj[text_field]
        if not isinstance(value, str):
            raise CorpusError(
                message(
                    "field_not_text",
                    path=path,
                    line=lineno,
                    field=_show(text_field),
                    kind=_kind(value),
                )
            )
        try:
            doc_id = str(obj["id"]) if obj.get("id") is not None else f"{name}:{lineno}"
        except RecursionError as e:  # an id nested as deep as the parser allows
            raise CorpusError(message("nested_jsonl", path=path, line=lineno)) from e
        meta: dict[str, Any] = {k: v for k, v in obj.items() if k not in (text_field, "id")}
        meta["line"] = lineno
        yield Document(id=doc_id, text=value, meta=meta, source=f"{path}:{lineno}")


def _read_table(path: Path, name: str, text_column: str) -> Iterator[Document]:
    import polars as pl
    from polars.exceptions import PanicException  # a BaseException: a bug in polars

    kind = path.suffix.lower().lstrip(".")
    data = _read_bytes(path)
    if kind == "csv":
        _decode(path, data)  # names the byte offset of bad UTF-8 before polars sees it
    try:
        if kind == "csv":
            frame = pl.read_csv(data, infer_schema_length=0)  # every column as text
        else:
            frame = pl.read_parquet(data)
    except (Exception, PanicException) as e:  # polars raises several unrelated types
        reason = _show((str(e).splitlines() or [type(e).__name__])[0], limit=200)
        raise CorpusError(message("bad_table", path=path, kind=kind, reason=reason)) from e
    if text_column not in frame.columns:
        raise CorpusError(
            message(
                "missing_column",
                path=path,
                column=_show(text_column),
                columns=_names(frame.columns),
            )
        )
    if frame.schema[text_column] != pl.String:
        raise CorpusError(
            message(
                "column_not_text",
                path=path,
                column=_show(text_column),
                dtype=frame.schema[text_column],
            )
        )
    has_id = "id" in frame.columns
    for row_no, row in enumerate(frame.iter_rows(named=True), start=1):
        text = row[text_column] or ""
        doc_id = str(row["id"]) if has_id and row["id"] is not None else f"{name}:{row_no}"
        meta = {k: v for k, v in row.items() if k not in (text_column, "id")}
        meta["row"] = row_no
        yield Document(id=doc_id, text=text, meta=meta, source=f"{path}:{row_no}")


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
