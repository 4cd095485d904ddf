"""A parts folder's manifests: one per shard, naming the run's settings, the part size and
every part written (file, documents, tokens), so a folder holds exactly one run, readers
read only listed parts, and an interrupted run resumes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspector.errors import ExportError, InspectorError, message
from inspector.files import atomic_path
from inspector.run.cache import NAME_KEYS

MANIFEST = re.compile(r"manifest-s(\d+)of(\d+)\.json")  # one per shard: manifest-s<i>of<N>.json


@dataclass(frozen=True)
class Manifest:
    """One shard's record of a parts folder: its settings and the parts it completed."""

    path: Path
    shard: tuple[int, int]
    settings: dict[str, Any] | None  # the run's settings key; None until a part is written
    part_chars: int | None
    parts: list[dict[str, Any]]  # file, ids_hash, docs, tokens, in order


def read_manifests(folder: Path) -> list[Manifest]:
    """Every shard manifest in `folder`, checked to describe one run: same shard count,
    same part size, same settings. A folder holds exactly one run (DESIGN.md)."""
    found = []
    for path in sorted(folder.glob("manifest-*.json")):
        m = MANIFEST.fullmatch(path.name)
        if m is None or not int(m.group(1)) < int(m.group(2)):
            raise InspectorError(message("manifest_name", path=path))
        data = _read_manifest(path)
        found.append(
            Manifest(path, (int(m.group(1)), int(m.group(2))), data.get("settings"),
                     data.get("part_chars"), data.get("parts", []))
        )  # fmt: skip
    for other in found[1:]:
        first = found[0]
        if other.shard[1] != first.shard[1]:
            raise InspectorError(
                message(
                    "parts_two_shardings",
                    folder=folder,
                    shards=first.shard[1],
                    other_shards=other.shard[1],
                    manifest=first.path.name,
                    other_manifest=other.path.name,
                )
            )
        _same_run(folder, first, other.settings, other.part_chars, other.path.name)
    return found


def _same_run(
    folder: Path, m: Manifest, settings: dict[str, Any] | None, part_chars: int | None, what: str
) -> None:
    """Refuse `settings` and `part_chars` (of a request, or of another manifest) that differ
    from manifest `m`'s, naming what differs."""
    if part_chars is not None and m.part_chars is not None and part_chars != m.part_chars:
        raise InspectorError(
            message(
                "parts_other_size",
                folder=folder,
                theirs=m.part_chars,
                what=what,
                ours=part_chars,
            )
        )
    if settings is not None and m.settings is not None and settings != m.settings:
        changed = sorted(
            k for k in set(settings) | set(m.settings) if settings.get(k) != m.settings.get(k)
        )
        shown = ", ".join(
            f"{k} {m.settings.get(k)!r} there, {settings.get(k)!r} {what}" for k in changed[:4]
        )
        raise InspectorError(
            message("parts_other_run", folder=folder, shown=shown)
        )  # fmt: skip


def check_parts_folder(folder: Path, shard: tuple[int, int], part_chars: int) -> None:
    """Before any work: `folder` is new, empty, or holds parts of this same run split the
    same way; never a folder of other files, another run, or the same documents twice."""
    if folder.exists() and not folder.is_dir():
        raise InspectorError(message("parts_is_file", folder=folder))
    if not folder.exists():
        return
    manifests = read_manifests(folder)
    if not manifests:
        if any(not f.name.startswith(".") for f in folder.iterdir()):  # .tmp: a shard starting
            raise InspectorError(message("parts_foreign_folder", folder=folder))
        return
    first = manifests[0]
    if first.shard[1] != shard[1]:
        raise InspectorError(
            message(
                "parts_other_shards",
                folder=folder,
                shards=first.shard[1],
                manifest=first.path.name,
                i=shard[0],
                n=shard[1],
            )
        )
    _same_run(folder, first, None, part_chars, "this request")


def run_key(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings that make parts of one run: all but names and the corpus of a part."""
    return {k: v for k, v in settings.items() if k not in (*NAME_KEYS, "corpus_hash", "documents")}


def part_problem(path: Path, tokens: int) -> str | None:
    """What is wrong with a listed part (missing, unreadable, a row count other than the
    manifest's), or None. Reads only the Parquet footer."""
    import polars as pl

    if not path.is_file():
        return "missing"
    try:
        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
    except (OSError, pl.exceptions.PolarsError) as e:
        return f"damaged ({str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__})"
    return None if rows == tokens else f"holds {rows:,} rows, its manifest says {tokens:,}"


def _read_manifest(path: Path) -> dict[str, Any]:
    """A shard manifest as written by `score_to_parts`, checked; {} if there is none."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        problem = _manifest_problem(data)
    except (OSError, ValueError, RecursionError) as e:
        problem = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if problem:
        raise InspectorError(message("manifest_unreadable", path=path, problem=problem))
    return data  # type: ignore[no-any-return]


def _manifest_problem(data: Any) -> str | None:
    """What makes `data` not a manifest, or None."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if not isinstance(data.get("settings"), dict | None):
        return "settings is not an object"
    if not isinstance(data.get("part_chars"), int | None):
        return "part_chars is not a number"
    parts = data.get("parts", [])
    if not isinstance(parts, list):
        return "parts is not a list"
    for i, part in enumerate(parts):
        if not (
            isinstance(part, dict)
            and isinstance(part.get("file"), str)
            and re.fullmatch(r"part-s\d+of\d+-\d+\.parquet", part["file"])
            and isinstance(part.get("ids_hash"), str)
            and isinstance(part.get("tokens"), int)
        ):
            return f"part {i} is not a file name, ids_hash and tokens of a part in this folder"
    return None


def _write_manifest(path: Path, data: dict[str, Any]) -> None:
    """Replace the manifest atomically; a failed write (a full disk) leaves the old one."""
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(data, indent=1))
    except OSError as e:
        reason = e.strerror or str(e)
        raise ExportError(
            message("write_failed", path=path, reason=reason, option="--parts folder")
        ) from e
