"""The browsing session, free of Textual: documents, their scored rows, a cursor, filters.

The app draws what this holds and calls its moves; every move and jump is plain code over
numpy arrays, tested headless, and fast on a 200,000-token document.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from corpora import Document
from inspector.files import atomic_path, ensure_dir
from inspector.tables.buckets import loss_bucket, rank_bucket

JUMPS = ("task", "loss", "outside")  # what `next_match` can look for


@dataclass
class DocRows:
    """One document's scored targets, as the table and as arrays for stepping and jumping."""

    table: pl.DataFrame  # rows in `pos` order
    char_start: np.ndarray
    char_end: np.ndarray
    nll: np.ndarray
    rank: np.ndarray
    task: np.ndarray
    word_start: np.ndarray
    loss_bucket: np.ndarray
    rank_bucket: np.ndarray

    @classmethod
    def from_table(cls, table: pl.DataFrame) -> DocRows:
        table = table.sort("pos")
        nll, rank = table["nll"].to_numpy(), table["rank"].to_numpy()
        return cls(
            table=table,
            char_start=table["char_start"].to_numpy(),
            char_end=table["char_end"].to_numpy(),
            nll=nll,
            rank=rank,
            task=table["task"].to_numpy(),
            word_start=table["word_start"].to_numpy(),
            loss_bucket=loss_bucket(nll),
            rank_bucket=rank_bucket(rank),
        )

    def __len__(self) -> int:
        return len(self.nll)

    def token_at(self, char: int) -> int:
        """The target whose span covers (or last starts before) character `char`."""
        return max(0, int(np.searchsorted(self.char_start, char, side="right")) - 1)


def split_rows(table: pl.DataFrame) -> list[tuple[str, DocRows]]:
    """A token table split into its documents' rows, in order."""
    return [
        (str(doc_id), DocRows.from_table(part))
        for (doc_id,), part in table.partition_by(
            "doc_id", as_dict=True, maintain_order=True
        ).items()
    ]


class Session:
    """Where the reader is in a corpus, what is scored so far, and what to jump to."""

    def __init__(self, docs: Sequence[Document], top_k: int = 20) -> None:
        self.docs = list(docs)
        self.index = {d.id: i for i, d in enumerate(self.docs)}
        self.rows: dict[int, DocRows] = {}
        self.doc = 0
        self.pos = 0
        self.top_k = top_k
        self.task_filter: str | None = None
        self.loss_threshold = 5.0  # nats: `next_match("loss")` stops above this
        self._scored: list[pl.DataFrame] = []

    def add_document(self, doc: Document) -> int:
        """A document written in the app, at the end of the corpus; its index."""
        self.docs.append(doc)
        self.index[doc.id] = len(self.docs) - 1
        return len(self.docs) - 1

    # -- data ---------------------------------------------------------------------------
    def add_table(self, table: pl.DataFrame | list[tuple[str, DocRows]]) -> list[int]:
        """Take in scored rows of one or more documents, as a table or already split by
        `split_rows` (the app does that off its event loop); returns the documents added.

        A long document may come in growing pieces (its first targets, then more, then all
        of them with their final tags): rows at least as long as what is here replace it;
        shorter ones are ignored."""
        parts = split_rows(table) if isinstance(table, pl.DataFrame) else table
        added = []
        for doc_id, rows in parts:
            i = self.index.get(doc_id)
            old = self.rows.get(i) if i is not None else None
            if i is None or (old is not None and len(rows) < len(old)):
                continue
            self.rows[i] = rows
            if old is not None:
                self._scored = [t for t in self._scored if t is not old.table]
            self._scored.append(rows.table)
            added.append(i)
        return added

    def forget(self, doc: int) -> None:
        """Drop a document's rows (it can be read again); for tables larger than memory."""
        rows = self.rows.pop(doc, None)
        if rows is not None:
            self._scored = [t for t in self._scored if t is not rows.table]

    @property
    def current(self) -> DocRows | None:
        return self.rows.get(self.doc)

    @property
    def document(self) -> Document:
        return self.docs[self.doc]

    def row(self) -> dict[str, Any] | None:
        """The current target's row of the token table, or None while it is unscored."""
        rows = self.current
        return rows.table.row(self.pos, named=True) if rows is not None and len(rows) else None

    def scored_tables(self) -> list[pl.DataFrame]:
        """The rows of every document scored so far (each document's table)."""
        return list(self._scored)

    def scored_tokens(self) -> int:
        return sum(len(r) for r in self.rows.values())

    def tasks(self) -> list[str]:
        """Task labels present in what is scored so far, most frequent first."""
        if not self._scored:
            return []
        counts = pl.concat([t.select("task") for t in self._scored])["task"].value_counts(sort=True)
        return counts["task"].to_list()

    def task_summary(self, document_only: bool) -> pl.DataFrame:
        """Per task: tokens, mean loss and share of the loss, for this document or all scored."""
        if document_only:
            frames = [self.current.table] if self.current is not None else []
        else:
            frames = self._scored
        if not frames or not sum(f.height for f in frames):
            return pl.DataFrame(
                schema={
                    "task": pl.String,
                    "tokens": pl.UInt32,
                    "mean_nll": pl.Float64,
                    "loss_share": pl.Float64,
                }
            )
        table = pl.concat([f.select("task", "nll") for f in frames])
        total = table["nll"].sum()
        return (
            table.group_by("task")
            .agg(
                pl.len().alias("tokens"),
                pl.col("nll").mean().alias("mean_nll"),
                pl.col("nll").sum().alias("sum"),
            )
            .with_columns((pl.col("sum") / total if total else pl.lit(0.0)).alias("loss_share"))
            .sort("sum", descending=True)
            .drop("sum")
        )

    # -- moving -------------------------------------------------------------------------
    def _set(self, doc: int, pos: int) -> bool:
        rows = self.rows.get(doc)
        pos = 0 if rows is None or not len(rows) else max(0, min(pos, len(rows) - 1))
        moved = (doc, pos) != (self.doc, self.pos)
        self.doc, self.pos = doc, pos
        return moved

    def step(self, delta: int) -> bool:
        """Next (+1) or previous (-1) target, within the document."""
        return self._set(self.doc, self.pos + delta)

    def first(self) -> bool:
        return self._set(self.doc, 0)

    def last(self) -> bool:
        rows = self.current
        return self._set(self.doc, len(rows) - 1 if rows is not None else 0)

    def word(self, delta: int) -> bool:
        """The first target of the next (+1) or previous (-1) word."""
        rows = self.current
        if rows is None or not len(rows):
            return False
        here = rows.word_start[self.pos]
        if delta > 0:
            later = np.nonzero(rows.word_start[self.pos + 1 :] > here)[0]
            return self._set(self.doc, self.pos + 1 + int(later[0])) if len(later) else self.last()
        earlier = np.nonzero(rows.word_start[: self.pos] < here)[0]
        if not len(earlier):
            return self.first()
        start = rows.word_start[int(earlier[-1])]
        return self._set(self.doc, int(np.argmax(rows.word_start == start)))

    def document_step(self, delta: int) -> bool:
        """Next (+1) or previous (-1) document, at its first target."""
        doc = max(0, min(self.doc + delta, len(self.docs) - 1))
        return self._set(doc, 0) if doc != self.doc else False

    def find_document(self, spec: str) -> int | None:
        """A document by id, or by number counted from 1."""
        if spec in self.index:
            return self.index[spec]
        if spec.strip().isdigit() and 1 <= int(spec) <= len(self.docs):
            return int(spec) - 1
        return None

    def goto(self, doc: int | str, pos: int = 0) -> bool:
        """A document by index (from 0) or id, and a position in it."""
        index = self.index.get(doc) if isinstance(doc, str) else doc
        if index is None or not 0 <= index < len(self.docs):
            return False
        return self._set(index, pos)

    def _mask(self, rows: DocRows, kind: str) -> np.ndarray:
        if kind == "task":
            return rows.task == self.task_filter if self.task_filter else np.zeros(len(rows), bool)
        if kind == "loss":
            return rows.nll > self.loss_threshold
        if kind == "outside":
            return rows.rank > self.top_k
        raise ValueError(f"unknown jump {kind!r}; use one of {JUMPS}")

    def next_match(self, kind: str, direction: int = 1) -> bool:
        """The next (or previous) target of the chosen task, above the loss threshold, or
        ranked outside the top-k; continues into the following (or earlier) scored documents."""
        order = range(self.doc, len(self.docs)) if direction > 0 else range(self.doc, -1, -1)
        for doc in order:
            rows = self.rows.get(doc)
            if rows is None:
                continue
            hits = np.nonzero(self._mask(rows, kind))[0]
            if doc == self.doc:
                hits = hits[hits > self.pos] if direction > 0 else hits[hits < self.pos]
            if len(hits):
                return self._set(doc, int(hits[0] if direction > 0 else hits[-1]))
        return False

    def search(self, query: str, direction: int = 1) -> bool:
        """Move to the next (or previous) place the text contains `query`, case-insensitively."""
        if not query:
            return False
        needle = query.lower()
        n = len(self.docs)
        rows = self.current
        here = -1
        if rows is not None and len(rows):
            # where the current target's text begins: its span may start with the space
            # before the word, and a match found there is the one already shown
            start, end = int(rows.char_start[self.pos]), int(rows.char_end[self.pos])
            piece = self.document.text[start:end]
            here = start + len(piece) - len(piece.lstrip())
        for step in range(n + 1):
            doc = (self.doc + direction * step) % n
            text = self.docs[doc].text.lower()
            if direction > 0:
                found = text.find(needle, here + 1 if step == 0 else 0)
            else:
                found = text.rfind(needle, 0, here if step == 0 else len(text))
                found = found if found >= 0 else -1
            if found >= 0:
                target = self.rows.get(doc)
                self._set(doc, target.token_at(found) if target is not None else 0)
                return True
        return False

    # -- resuming -----------------------------------------------------------------------
    def place(self) -> dict[str, Any]:
        return {"doc_id": self.document.id, "pos": self.pos}


def load_place(cache_dir: Path, corpus_key: str) -> dict[str, Any] | None:
    """Where the reader left this corpus, if known."""
    path = cache_dir / "positions.json"
    try:
        places = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        return None  # a damaged positions file only loses the place, never anything else
    place = places.get(corpus_key)
    return place if isinstance(place, dict) else None


def save_place(cache_dir: Path, corpus_key: str, place: dict[str, Any]) -> None:
    """Remember where the reader is in this corpus (atomically; other corpora kept)."""
    path = ensure_dir(cache_dir) / "positions.json"
    try:
        places = json.loads(path.read_text()) if path.is_file() else {}
        if not isinstance(places, dict):
            places = {}
    except (OSError, ValueError):
        places = {}
    places[corpus_key] = place
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(places, indent=1))


def wrap_spans(text: str, width: int, cells: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Screen lines of `text` at `width` terminal cells, as (start, end) character spans.

    Lines break at newlines (not shown) and, when too long, after the last space that fits,
    else mid-word. `cells` gives each character's width in cells (`visible.cell_widths`:
    2 for wide CJK and emoji, 0 for combining marks; default 1 each); a zero-width character
    stays on the line of the character it joins, and a character wider than the whole line
    gets a line of its own.
    """
    width = max(1, width)
    if cells is None:
        cells = np.ones(len(text), dtype=np.int64)
    spans: list[tuple[int, int]] = []
    start = 0
    for line in text.split("\n"):
        end = start + len(line)
        # before[i]: the cells of this line's characters before character start + i
        before = np.concatenate([[0], np.cumsum(cells[start:end])])
        a = start
        while before[end - start] - before[a - start] > width:
            # the most characters from a that fit in `width` cells, at least one
            fit = int(np.searchsorted(before, before[a - start] + width, side="right")) - 1
            b = max(start + fit, a + 1)
            cut = text.rfind(" ", a, b)
            b = cut + 1 if cut > a else b
            while b < end and cells[b] == 0:  # a combining mark stays with its base
                b += 1
            spans.append((a, b))
            a = b
        if a < end or not spans or spans[-1][1] != end:  # not after a line that ended it
            spans.append((a, end))
        start = end + 1
    return spans


def owners(n_chars: int, char_start: np.ndarray, char_end: np.ndarray) -> np.ndarray:
    """For every character, the target that colours it (-1: none).

    Where spans overlap (the byte pieces of one character share it) the earlier target owns it.
    """
    out = np.full(n_chars, -1, dtype=np.int64)
    if not len(char_start):
        return out
    prev_end = np.concatenate([[0], np.maximum.accumulate(char_end)[:-1]])
    start = np.clip(np.maximum(char_start, prev_end), 0, n_chars)
    end = np.clip(char_end, 0, n_chars)
    length = np.maximum(end - start, 0)
    keep = length > 0
    idx = np.repeat(np.nonzero(keep)[0], length[keep])
    offsets = np.arange(len(idx)) - np.repeat(np.cumsum(length[keep]) - length[keep], length[keep])
    out[np.repeat(start[keep], length[keep]) + offsets] = idx
    return out
