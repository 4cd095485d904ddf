"""Corpora: documents from files on disk, and the bundled sample corpus."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from corpora.document import Document
from corpora.readers import iter_corpus, read_corpus

__all__ = ["Document", "bundled_path", "iter_corpus", "read_corpus"]


def bundled_path() -> Path:
    """The folder of sample documents shipped with inspector: the talk's probes and some prose."""
    return Path(str(files("corpora") / "samples"))
