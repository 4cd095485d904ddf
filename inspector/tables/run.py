"""A run: one model's token table of a corpus with the settings it was made with.

The one type for it everywhere: what scoring returns, what the cache and a table on disk
give back, what the per-task tables compare, what the app shows. The table is lazy (a
Parquet scan streams through polars); `table` collects it once when all of it is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl


@dataclass
class Run:
    label: str  # the model's readable name, or the file's
    frame: pl.LazyFrame  # the token table (tables/schema.py)
    settings: dict[str, Any]  # everything its numbers depend on (run/cache.py: run_settings)
    source: str  # where it came from, for messages: a model spec, a file, a folder
    labels: str = "heuristic"  # where `task` comes from: the rules, or people ("human")
    files: tuple[Path, ...] = ()  # the Parquet parts behind `frame`, when it is a scan of them
    # how it was obtained, when it was just scored or loaded
    from_cache: bool = False  # scores and tags both came from the cache
    seconds: float = 0.0
    cache_file: Path | None = None  # the scores' cache file
    timings: dict[str, float] = field(default_factory=dict)  # seconds scoring and tagging

    @classmethod
    def of_table(
        cls, table: pl.DataFrame, settings: dict[str, Any], source: str = "", **how: Any
    ) -> Run:
        """A run of a table in memory (kept: `table` costs nothing)."""
        run = cls(str(settings.get("model") or source), table.lazy(), settings, source, **how)
        run.__dict__["table"] = table
        return run

    @cached_property
    def table(self) -> pl.DataFrame:
        """The whole table in memory."""
        return self.frame.collect()
