"""Messages the scoring worker posts to the app (the only way a thread talks to the UI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from inspector.session.browse import DocRows


@dataclass
class ModelLoaded(Message):
    """The model is ready; scoring starts."""

    name: str
    device: str
    dtype: str
    window: object = None  # tokens per model input, when known: part of what names the run


@dataclass
class DocumentsScored(Message):
    """Rows of one or more documents, scored, tagged, and split per document off the UI."""

    rows: list[tuple[str, DocRows]]
    fraction: float  # of the corpus's characters scored so far
    requested: list[int] = field(default_factory=list)  # documents asked for, read from a table


@dataclass
class ScoringProgress(Message):
    """What the worker is doing now (merged: only the latest matters)."""

    text: str
    fraction: float

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScoringProgress)


@dataclass
class ScoringDone(Message):
    """Every document is scored; `settings` are the run's."""

    settings: dict[str, Any]
    from_cache: bool


@dataclass
class ScoringFailed(Message):
    """Scoring stopped; `error` says why and what to do."""

    error: str


@dataclass
class CorpusSummary(Message):
    """The per-task table of a whole token table on disk."""

    table: Any


@dataclass
class ComparisonReady(Message):
    """Runs of this corpus compared, ready to draw (`session/compare.py`'s CompareView)."""

    view: Any


@dataclass
class ComparisonFailed(Message):
    """No comparison: `error` says why and what to do."""

    error: str


@dataclass
class RunsFound(Message):
    """The runs of this corpus in the cache (`run/runsets.Catalog`), smallest model first."""

    runs: Any
    ask: bool = True  # open the chooser even where a set was chosen before
