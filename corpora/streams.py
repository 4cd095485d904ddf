"""Compressed corpora, read as streams (nothing is unpacked to disk): `.gz`, `.bz2`, `.xz`
and `.zst` after a text, JSONL or CSV suffix (`shard-00.jsonl.zst`), as pretraining shards
come. A damaged stream is named with its file, as an unreadable one is."""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path
from typing import IO, Any

import zstandard

from corpora.errors import CorpusError, message

COMPRESSIONS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd"}


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
        raw = path.open("rb")
        return _Closing(
            zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True), raw
        )
    return path.open("rb")


class _Closing:
    """A zstd reader that also closes the file under it, iterable by lines."""

    def __init__(self, reader: Any, raw: IO[bytes]) -> None:
        import io

        self._buffered = io.BufferedReader(reader)
        self._raw = raw

    def __getattr__(self, name: str) -> Any:
        return getattr(self._buffered, name)

    def __iter__(self) -> Any:
        return iter(self._buffered)

    def __enter__(self) -> _Closing:
        return self

    def __exit__(self, *exc: object) -> None:
        self._buffered.close()
        self._raw.close()


def damaged(path: Path, error: Exception) -> CorpusError:
    """The one-line error of a stream that cannot be decompressed."""
    kind = COMPRESSIONS.get(split_suffix(path)[1] or "", "compressed")
    reason = (str(error).splitlines() or [type(error).__name__])[0][:200]
    return CorpusError(message("bad_compressed", path=path, kind=kind, reason=reason))


DECOMPRESSION_ERRORS: tuple[type[Exception], ...] = (
    OSError, EOFError, lzma.LZMAError, ValueError, zstandard.ZstdError,
)  # fmt: skip
