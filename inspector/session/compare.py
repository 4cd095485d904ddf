"""Compare mode's state: a comparison of runs (`tables/changes.py`) laid over the document on
screen. Each target shown belongs to one compared unit (by position when the runs share a
tokenizer, by the characters it covers otherwise), and takes its unit's change; each run's
rows give the side-by-side candidates; the units ranked by change give the jumps to the
biggest improvements and regressions, and a trend class the jumps through the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from inspector.tables.alignment import unit_texts
from inspector.tables.changes import CLASSES, Comparison
from inspector.tables.names import short_names

DELTA_EDGES = (-2.0, -0.5, 0.5, 2.0)  # nats: much better, better, about the same, worse, much worse
DELTA_LABELS = ("< -2", "-2..-0.5", "±0.5", "0.5..2", "> 2")
RUN_COLUMNS = ("pos", "token", "token_id", "nll", "prob", "rank", "top_ids", "top_tokens", "top_probs")  # fmt: skip


def delta_bucket(delta: np.ndarray) -> np.ndarray:
    """0 (much better) .. 4 (much worse) per change; -1 where there is none (NaN)."""
    buckets = np.searchsorted(np.asarray(DELTA_EDGES), delta, side="left").astype(np.int64)
    return np.where(np.isnan(delta), -1, buckets)


@dataclass
class DocUnits:
    """One document's compared units, in text order."""

    table: pl.DataFrame
    char_start: np.ndarray
    char_end: np.ndarray
    delta: np.ndarray
    trend: np.ndarray | None


class CompareView:
    """A comparison, ready to be drawn over documents and stepped through."""

    def __init__(
        self, comparison: Comparison, doc_ids: Sequence[str], names: Sequence[str] | None = None
    ) -> None:
        self.comparison = comparison
        # the panel's short names (what tells the runs apart); `comparison.names` in full
        self.names = tuple(names) if names is not None else short_names(comparison.runs)
        self.unit = comparison.aligned.unit
        self.order = list(doc_ids)  # the session's document order
        units = comparison.units.with_columns(unit_texts(comparison.aligned))
        self.docs: dict[str, DocUnits] = {}
        for (doc_id,), part in units.partition_by("doc_id", as_dict=True).items():
            self.docs[str(doc_id)] = DocUnits(
                part, part["char_start"].to_numpy(), part["char_end"].to_numpy(),
                part["delta"].to_numpy(),
                part["trend"].to_numpy() if "trend" in part.columns else None,
            )  # fmt: skip
        self.run_rows: list[dict[str, pl.DataFrame]] = [
            {
                str(k[0]): v
                for k, v in run.frame.select("doc_id", *RUN_COLUMNS).collect()
                .partition_by("doc_id", as_dict=True).items()
            }
            for run in comparison.runs
        ]  # fmt: skip
        ranked = units.select("doc_id", "pos", "delta").with_row_index("_i")
        self.improvements = ranked.filter(pl.col("delta") < 0).sort("delta", "_i")
        self.regressions = ranked.filter(pl.col("delta") > 0).sort(
            "delta", "_i", descending=[True, False]
        )
        self.cursor = {"improvement": -1, "regression": -1}
        self.trend_filter: str | None = None
        self._targets: dict[tuple[str, int], np.ndarray] = {}
        self.corpus_changes = comparison.changes()  # the side table's corpus part, once
        self.corpus_trends = comparison.trends()

    @property
    def trends(self) -> list[str]:
        """The trend classes present, most frequent first (none with fewer than 3 runs)."""
        if "trend" not in self.comparison.units.columns:
            return []
        counts = self.comparison.units["trend"].value_counts(sort=True)
        return [c for c in counts["trend"].to_list() if c in CLASSES]

    # -- targets and units ----------------------------------------------------------------
    def target_units(self, doc_id: str, rows: Any) -> np.ndarray:
        """For each target of `rows` (a DocRows), the index of its unit, or -1."""
        key = (doc_id, id(rows))
        if key not in self._targets:
            self._targets[key] = self._map(doc_id, rows)
        return self._targets[key]

    def _map(self, doc_id: str, rows: Any) -> np.ndarray:
        n = len(rows)
        units = self.docs.get(doc_id)
        if units is None or not n:
            return np.full(n, -1, dtype=np.int64)
        if self.unit == "token":  # one tokenizer: a unit's pos is its target's
            pos = units.table["pos"].to_numpy()
            out = np.full(n, -1, dtype=np.int64)
            ok = pos < n
            out[pos[ok]] = np.nonzero(ok)[0]
            return out
        index = np.searchsorted(units.char_start, rows.char_start, side="right") - 1
        inside = (index >= 0) & (rows.char_end <= units.char_end[np.maximum(index, 0)])
        return np.where(inside, index, -1)

    def unit_near(self, doc_id: str, rows: Any, pos: int) -> int:
        """The unit of the target at `pos`, else the last unit before it (-1: none)."""
        index = self.target_units(doc_id, rows)
        if 0 <= pos < len(index) and index[pos] >= 0:
            return int(index[pos])
        units = self.docs.get(doc_id)
        if units is None or not 0 <= pos < len(rows):
            return -1
        return int(np.searchsorted(units.char_start, rows.char_start[pos], side="right")) - 1

    def deltas(self, doc_id: str, rows: Any) -> np.ndarray:
        """Each target's change (its unit's), NaN where it is in no compared unit."""
        index = self.target_units(doc_id, rows)
        units = self.docs.get(doc_id)
        if units is None:
            return np.full(len(index), np.nan)
        return np.where(index >= 0, units.delta[np.maximum(index, 0)], np.nan)

    def unit_at(self, doc_id: str, rows: Any, pos: int) -> dict[str, Any] | None:
        """The unit of the target at `pos`, as a row, or None."""
        index = self.target_units(doc_id, rows)
        if not 0 <= pos < len(index) or index[pos] < 0:
            return None
        return self.docs[doc_id].table.row(int(index[pos]), named=True)

    def candidates(self, doc_id: str, unit: dict[str, Any]) -> list[dict[str, Any] | None]:
        """Each run's row at the unit's first piece (its top-k, the true token's rank and
        probability), None where a run has none."""
        out = []
        for i, rows in enumerate(self.run_rows):
            table = rows.get(doc_id)
            first = unit.get(f"first_{i}")
            hit = None if table is None or first is None else table.filter(pl.col("pos") == first)
            out.append(None if hit is None or hit.is_empty() else hit.row(0, named=True))
        return out

    def target_of(self, doc_id: str, rows: Any, unit_pos: int) -> int:
        """The first target of unit `unit_pos` among `rows`."""
        if self.unit == "token":
            return unit_pos
        start = self.docs[doc_id].char_start[unit_pos]
        return int(min(np.searchsorted(rows.char_start, start, side="left"), len(rows) - 1))

    # -- jumps --------------------------------------------------------------------------
    def ranked(self, kind: str, direction: int) -> tuple[str, int] | None:
        """The next (or previous) biggest improvement or regression: (doc_id, unit pos)."""
        table = self.improvements if kind == "improvement" else self.regressions
        step = self.cursor[kind] + direction
        if not 0 <= step < table.height:
            return None
        self.cursor[kind] = step
        row = table.row(step, named=True)
        return str(row["doc_id"]), int(row["pos"])

    def rank_of(self, kind: str) -> tuple[int, int]:
        """Where the walk through `kind` is: (1-based step, units of that kind)."""
        table = self.improvements if kind == "improvement" else self.regressions
        return self.cursor[kind] + 1, table.height

    def next_trend(self, doc: int, unit_pos: int, direction: int) -> tuple[str, int] | None:
        """The next (or previous) unit of the chosen trend class in text order, from unit
        `unit_pos` of document number `doc` (-1: before its first)."""
        if self.trend_filter is None:
            return None
        docs = range(doc, len(self.order)) if direction > 0 else range(doc, -1, -1)
        for d in docs:
            units = self.docs.get(self.order[d])
            if units is None or units.trend is None:
                continue
            hits = np.nonzero(units.trend == self.trend_filter)[0]
            if d == doc:
                hits = hits[hits > unit_pos] if direction > 0 else hits[hits < unit_pos]
            if len(hits):
                return self.order[d], int(hits[0] if direction > 0 else hits[-1])
        return None
