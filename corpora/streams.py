"""Compressed corpora, read as streams (nothing is unpacked to disk): `.gz`, `.bz2`, `.xz`
and `.zst` after a text, JSONL or CSV suffix (`shard-00.jsonl.zst`), as pretraining shards
come. A damaged stream is named with its file, as an unreadable one is."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import zlib
from pathlib import Path
from typing import IO, Any

import zstandard

from corpora.errors import CorpusError, message

COMPRESSIONS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd"}
# One document's text is held whole (its tokens, tags and table: about 1.5 GB per MB of
# text), so a document is at most this many MB (10^6 bytes) of UTF-8, which the variable
# raises; a compressed table is read whole too, and decompressed to at most TABLE_MB.
DOCUMENT_MB, DOCUMENT_MB_VARIABLE = 8, "INSPECTOR_MAX_DOCUMENT_MB"
TABLE_MB = 2000
# A corpus read whole (score without --parts, browse, html, tasks) is held with its table:
# about 1 GB per MB of text at its peak when scored; at most CORPUS_MB of text (a bomb of many
# small documents stops there) unless the variable raises it; --parts streams any size.
CORPUS_MB, CORPUS_MB_VARIABLE = 200, "INSPECTOR_MAX_CORPUS_MB"


def document_limit() -> int:
    """The most bytes of one document's text (DOCUMENT_MB unless the variable says)."""
    return _limit(DOCUMENT_MB_VARIABLE, DOCUMENT_MB)


def corpus_limit() -> int:
    """The most characters of a corpus read whole (CORPUS_MB unless the variable says)."""
    return _limit(CORPUS_MB_VARIABLE, CORPUS_MB)


def _limit(variable: str, default: float) -> int:
    raw = os.environ.get(variable, "").strip()
    try:
        mb = float(raw) if raw else default
    except ValueError:
        mb = float("nan")
    if not 0 < mb < 1e7:
        shown = raw[:40].encode("unicode_escape").decode()
        raise CorpusError(message("bad_limit", variable=variable, value=shown))
    return int(mb * 1_000_000)


def too_long(path: Path | str, limit: int) -> CorpusError:
    """The error of a document (or decompressed table) longer than `limit` bytes."""
    mb = f"{limit / 1_000_000:g}"
    return CorpusError(message("too_long", path=path, mb=mb, variable=DOCUMENT_MB_VARIABLE))


def check_regular(path: Path) -> None:
    """Refuse a FIFO, device or socket named like a corpus file: reading one blocks or never
    ends (`/dev/zero`)."""
    try:
        mode = path.stat().st_mode
    except OSError as e:
        raise CorpusError(message("unreadable", path=path, reason=e.strerror or e)) from e
    if not stat.S_ISREG(mode):
        what = (
            "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        )
        raise CorpusError(message("not_a_file", path=path, what=what))


def split_suffix(path: Path) -> tuple[str, str | None]:
    """The format's suffix and the compression's, if any: `a.jsonl.gz` -> (`.jsonl`, `.gz`)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        return (suffixes[-2] if len(suffixes) > 1 else ""), suffixes[-1]
    return path.suffix.lower(), None


def open_binary(path: Path) -> Any:
    """The file's bytes as a stream, decompressed when its name says it is compressed."""
    compression = split_suffix(path)[1]
    if compression == ".gz":
        return gzip.open(path, "rb")
    if compression == ".bz2":
        return bz2.open(path, "rb")
    if compression == ".xz":
        return lzma.open(path, "rb")
    if compression == ".zst":
        return io.BufferedReader(_Zstd(path.open("rb")))
    return path.open("rb")


class _Zstd(io.RawIOBase):
    """A zstd file read frame after frame; a file that ends inside a frame (cut off) raises
    at its end instead of passing for a shorter text, as zstandard's own reader lets it."""

    CHUNK = 256  # compressed bytes a call: at most ~8 MB out (zstd blocks: 128 KB from 4 bytes)

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._inflate = zstandard.ZstdDecompressor().decompressobj()
        self._pending, self._at = b"", 0  # decompressed bytes not yet read, from _at on
        self._done = False
        self._started = False  # a file with no bytes at all is an empty stream, not a cut one

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._at == len(self._pending) and not self._done:
            data = self._raw.read(self.CHUNK)
            if not data:
                self._done = True
                if not self._inflate.eof and self._started:
                    raise zstandard.ZstdError("the file ends inside a frame (cut off?)")
                break
            self._started = True
            self._pending, self._at = self._inflate.decompress(data), 0
            while self._inflate.eof and self._inflate.unused_data:  # the next frame
                rest = self._inflate.unused_data
                self._inflate = zstandard.ZstdDecompressor().decompressobj()
                self._pending += self._inflate.decompress(rest)
        n = min(len(buffer), len(self._pending) - self._at)
        buffer[:n] = memoryview(self._pending)[self._at : self._at + n]
        self._at += n
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def read_failed(path: Path, error: Exception) -> CorpusError:
    """The error of one of DECOMPRESSION_ERRORS while reading `path`: the file itself (an
    OSError with its reason), else its contents (a damaged stream)."""
    if isinstance(error, OSError) and error.strerror:
        return CorpusError(message("unreadable", path=path, reason=error.strerror))
    return damaged(path, error)


def damaged(path: Path, error: Exception) -> CorpusError:
    """The one-line error of a stream that cannot be decompressed."""
    kind = COMPRESSIONS.get(split_suffix(path)[1] or "", "compressed")
    reason = (str(error).splitlines() or [type(error).__name__])[0][:200]
    return CorpusError(message("bad_compressed", path=path, kind=kind, reason=reason))


DECOMPRESSION_ERRORS: tuple[type[Exception], ...] = (
    OSError, EOFError, lzma.LZMAError, ValueError, zstandard.ZstdError, zlib.error,
)  # fmt: skip
