"""Bytes to text, with one clear error for each way a file is not UTF-8 text: a NUL byte
(binary), a bad sequence (its byte offset), UTF-16/32 text (named, with the iconv line that
converts it); and names from files made fit for a one-line message."""

from __future__ import annotations

import codecs
import shlex
from collections.abc import Sequence
from pathlib import Path

from corpora.errors import CorpusError, message
from corpora.streams import (
    DECOMPRESSION_ERRORS,
    TABLE_MB,
    check_regular,
    document_limit,
    open_binary,
    read_failed,
    split_suffix,
    too_long,
)  # fmt: skip

WIDE_SAMPLE = 4096  # bytes at the start of a file looked at to tell UTF-16/32 text from binary
BOMS = (  # UTF-32 first: its little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def read_bytes(path: Path, limit: int | None = None) -> bytes:
    """The file's bytes, decompressed when its name says so (`.gz`, `.bz2`, `.xz`, `.zst`):
    at most `limit` bytes (a document; more is an error), a compressed table at most
    TABLE_MB decompressed (a bomb stops there)."""
    check_regular(path)
    error = too_long
    if limit is None and split_suffix(path)[1] is not None:
        limit, error = TABLE_MB * 1_000_000, _table_too_long
    try:
        stream = open_binary(path)
    except OSError as e:
        raise CorpusError(message("unreadable", path=path, reason=e.strerror or e)) from e
    try:
        with stream:
            data = stream.read() if limit is None else stream.read(limit + 1)
    except DECOMPRESSION_ERRORS as e:
        raise read_failed(path, e) from e
    if limit is not None and len(data) > limit:
        raise error(path, limit)
    return bytes(data)


def _table_too_long(path: Path | str, limit: int) -> CorpusError:
    return CorpusError(message("table_too_long", path=path, mb=f"{limit / 1_000_000:g}"))


def decode(path: Path, data: bytes) -> str:
    """UTF-8 text of a file; a NUL byte means binary, a bad sequence names its byte offset
    (UTF-16/32 text, which has both, is named as such)."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise not_utf8(path, data, "binary", nul)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise not_utf8(path, data, "bad_utf8", e.start) from e
    return text.removeprefix("\ufeff")  # a UTF-8 byte-order mark is not text


def not_utf8(path: Path, head: bytes, problem: str, offset: int) -> CorpusError:
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


def read_text(path: Path) -> str:
    """The UTF-8 text of a file that is one document (at most `document_limit()` bytes)."""
    return decode(path, read_bytes(path, document_limit()))


def kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def show(text: str, limit: int = 60) -> str:
    """`text` (a name, field or id from a file) fit for a one-line message: control
    characters, lone surrogates and the like escaped, anything past `limit` cut."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")


def names(names: Sequence[str], most: int = 20) -> str:
    """Field or column names for a message: escaped, at most `most` of them."""
    shown = ", ".join(show(n) for n in names[:most]) or "none"
    return shown + (f", … ({len(names)} in all)" if len(names) > most else "")
