"""Runs stored as files: a token table file, or a folder or glob of Parquet parts (a
`score --parts` folder is read as its manifests list it, each part checked)."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import polars as pl

from inspector.errors import message
from inspector.tables.integrity import check_rows, parquet_settings
from inspector.tables.run import Run
from inspector.tables.schema import SETTINGS_KEY, read_table
from inspector.tables.tasks import NEEDED, TasksError


def open_table(spec: str) -> Run:
    """A token table file, or a folder or glob of Parquet parts, as one lazy table."""

    path = Path(spec)
    if path.is_file():
        if path.suffix.lower() == ".parquet":
            files = [path]
        else:
            table, settings = read_table(path)
            check_rows(table.lazy(), settings, spec)
            return Run(_label(settings, path), table.lazy(), settings, spec)
    elif path.is_dir():
        files = _listed_parts(path)
    else:
        files = sorted(Path(p) for p in glob.glob(spec, recursive=True) if p.endswith(".parquet"))
    if not files:
        raise TasksError(message("no_table", spec=spec))
    metas = []
    for f in files:
        try:
            metas.append(pl.read_parquet_metadata(f))
        except Exception as e:  # polars raises several types for a damaged file
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise TasksError(message("part_not_parquet", path=f, reason=first)) from e
    schema = pl.read_parquet_schema(files[0])
    missing = [c for c in NEEDED if c not in schema]
    if missing:
        raise TasksError(message("not_tagged", spec=spec, missing=", ".join(missing)))
    part_settings = [parquet_settings(m, f) for m, f in zip(metas, files, strict=True)]
    models = {s.get("model_identity") for s in part_settings}
    if len(models) > 1:
        raise TasksError(message("parts_two_models", spec=spec))
    merged = dict(part_settings[0])
    merged["tokens"] = sum(s.get("tokens", 0) or 0 for s in part_settings)
    frame = pl.scan_parquet(files)
    if len(files) > 1:  # the whole folder's corpus, not its first part's
        merged.update(_corpus_of_parts(frame, part_settings))
    wrong = [c for c in NEEDED if c != "doc_id" and c != "task" and not schema[c].is_numeric()]
    if wrong:
        raise TasksError(message("table_values", path=spec, problem=f"a column {wrong[0]} of text"))
    check_rows(frame, merged if all(SETTINGS_KEY in m for m in metas) else {}, spec)
    return Run(_label(merged, Path(spec)), frame, merged, spec, files=tuple(files))


def _corpus_of_parts(frame: pl.LazyFrame, part_settings: list[dict[str, Any]]) -> dict[str, Any]:
    """The corpus several parts hold together: its documents (a long one spans parts), and
    one hash over the parts' corpus hashes in part order (the same for the same corpus
    split the same way, whichever shards scored it)."""
    import hashlib

    ordered = sorted(part_settings, key=lambda s: (s.get("part") is None, s.get("part") or 0))
    h = hashlib.sha256()
    for s in ordered:
        h.update(f"{s.get('corpus_hash')}\n".encode())
    documents = frame.select(pl.col("doc_id").n_unique()).collect().item()
    return {"corpus_hash": f"parts:{h.hexdigest()}", "documents": documents}


def _listed_parts(folder: Path) -> list[Path]:
    """The Parquet files of a folder: those its manifests list where it has them (a parts
    folder of `score --parts`, checked to hold one run, each part sound), else every one."""
    from inspector.run.parts import part_problem, read_manifests

    manifests = read_manifests(folder)
    if not manifests:
        return sorted(folder.rglob("*.parquet"))
    files = []
    for m in manifests:
        for part in m.parts:
            problem = part_problem(folder / part["file"], part["tokens"])
            if problem is not None:
                raise TasksError(
                    message("part_damaged", path=folder / part["file"], problem=problem)
                )
            files.append(folder / part["file"])
    return files


def _label(settings: dict[str, Any], path: Path) -> str:
    return str(settings.get("model") or path.name)
