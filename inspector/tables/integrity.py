"""What a token table read back must hold, so that an edited one is refused, never summed.

A table people keep (`score --out`, `--parts`) goes back in through `--from` (tasks,
compare, examples, html, browse). Its settings are sealed when written (a SHA-256 of their
JSON beside them: Parquet metadata, or a field of the CSV/JSONL sidecar), so settings edited
by hand (a window, a model name) are found; a table without a seal (written before) is read
as before. Its rows must agree with the settings' token count and have one row per
(document, position), and its numbers must be ones a model gives: a loss that is a finite
number >= 0, a rank >= 1, an entropy that is a finite number >= 0.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import polars as pl

from inspector.errors import InspectorError, message

SEAL_KEY = "inspector.settings_sha256"  # in Parquet metadata, beside the settings
SIDECAR_SEAL = "settings_sha256"  # in a CSV or JSONL table's settings sidecar
WHOLE_SETTINGS = ("window", "stride", "top_k", "tokens")  # whole numbers where present
SLACK = 1e-4  # float32 log-softmax can give a loss of -1e-7; nothing real is below -SLACK


class TableError(InspectorError):
    """A token table file that cannot be read back, or whose contents were edited."""


def seal(settings_json: str) -> str:
    return hashlib.sha256(settings_json.encode("utf-8")).hexdigest()


def settings_json(settings: dict[str, Any]) -> str:
    """The one JSON text of `settings` that is written and sealed."""
    return json.dumps(settings, indent=2, sort_keys=True)


def sidecar_text(settings: dict[str, Any]) -> str:
    """A CSV/JSONL table's sidecar: its settings and their seal."""
    return settings_json({**settings, SIDECAR_SEAL: seal(settings_json(settings))}) + "\n"


def parquet_settings(meta: dict[str, str], where: object) -> dict[str, Any]:
    """The settings in a Parquet file's metadata (none: {}), checked against their seal."""
    raw = meta.get("inspector.settings")
    if raw is None:
        return {}
    settings = _parse(raw, where)
    if SEAL_KEY in meta and meta[SEAL_KEY] != seal(raw):
        raise TableError(message("table_edited", path=where, what="its settings"))
    return _typed(settings, where)


def sidecar_settings(raw: str, where: object) -> dict[str, Any]:
    """The settings of a sidecar's text, checked against the seal it holds."""
    settings = _parse(raw, where)
    sealed = settings.pop(SIDECAR_SEAL, None)
    if sealed is not None and sealed != seal(settings_json(settings)):
        raise TableError(message("table_edited", path=where, what="its settings"))
    return _typed(settings, where)


def _parse(raw: str, where: object) -> dict[str, Any]:
    try:
        settings = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise TableError(message("table_settings", path=where, reason="not JSON")) from e
    if not isinstance(settings, dict):
        raise TableError(message("table_settings", path=where, reason="not a JSON object"))
    return settings


def _typed(settings: dict[str, Any], where: object) -> dict[str, Any]:
    for key in WHOLE_SETTINGS:
        value = settings.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            reason = f"{key} is {json.dumps(value)[:40]}, not a whole number"
            raise TableError(message("table_settings", path=where, reason=reason))
    return settings


def check_rows(frame: pl.LazyFrame, settings: dict[str, Any], where: object) -> None:
    """Refuse rows a run cannot have produced: one pass over the table's numbers."""
    names = frame.collect_schema().names()
    nll, rank, entropy = pl.col("nll"), pl.col("rank"), pl.col("entropy")
    checks = {
        "rows": pl.len(),
        "a loss that is missing or not a number": nll.is_null().any() | nll.is_nan().any(),
        "an infinite loss": nll.is_infinite().any(),
        "a negative loss": (nll < -SLACK).any(),
        "a rank below 1, or none": (rank < 1).any() | rank.is_null().any(),
        "an entropy that is negative or not a number": (entropy < -SLACK).any()
        | entropy.is_nan().any()
        | entropy.is_infinite().any(),
    }
    if "pos" in names:
        checks["the same document and position twice"] = (
            pl.struct("doc_id", "pos").is_duplicated().any()
        )
    try:
        found = frame.select(**checks).collect().row(0, named=True)
    except pl.exceptions.PolarsError as e:  # a column of text where numbers belong
        reason = (str(e).splitlines() or [type(e).__name__])[0][:120]
        problem = f"a column that cannot be read ({reason})"
        raise TableError(message("table_values", path=where, problem=problem)) from e
    bad = [name for name, value in found.items() if name != "rows" and value]
    if bad:
        raise TableError(message("table_values", path=where, problem=bad[0]))
    tokens = settings.get("tokens")  # a word table's rows are words, its tokens tokens
    if isinstance(tokens, int) and tokens != found["rows"] and settings.get("unit") != "word":
        problem = f"{found['rows']:,} rows where its settings say {tokens:,} tokens"
        raise TableError(message("table_values", path=where, problem=problem))
