"""Tables of documents: CSV (also compressed), Parquet and Arrow files (a text column, an
optional `id` column), and Hugging Face `datasets` folders written by `save_to_disk` (their
Arrow files in the order `state.json` lists them; a DatasetDict's splits in its order)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpora.decoding import decode, names, read_bytes, show
from corpora.document import Document
from corpora.errors import CorpusError, message
from corpora.streams import document_limit, split_suffix, too_long


def read_table(
    path: Path, name: str, text_column: str, kind: str | None = None
) -> Iterator[Document]:
    """The documents of a CSV, Parquet or Arrow file (`kind`, else from its name), one per
    row."""
    import polars as pl
    from polars.exceptions import PanicException  # a BaseException: a bug in polars

    kind = kind or split_suffix(path)[0].lstrip(".")
    data = read_bytes(path)
    if kind == "csv":
        decode(path, data)  # names the byte offset of bad UTF-8 before polars sees it
    try:
        if kind == "csv":
            frame = pl.read_csv(data, infer_schema_length=0)  # every column as text
        elif kind == "arrow":
            frame = _read_arrow(data)
        else:
            frame = pl.read_parquet(data)
    except (Exception, PanicException) as e:  # polars raises several unrelated types
        reason = show((str(e).splitlines() or [type(e).__name__])[0], limit=200)
        raise CorpusError(message("bad_table", path=path, kind=kind, reason=reason)) from e
    yield from rows(frame, path, name, text_column)


def _read_arrow(data: bytes) -> Any:
    """An Arrow IPC stream (what `datasets` writes) or file."""
    import polars as pl

    try:
        return pl.read_ipc_stream(data)
    except Exception:  # not a stream: an Arrow file, or the error it gives
        return pl.read_ipc(data)


def rows(frame: Any, path: Path, name: str, text_column: str) -> Iterator[Document]:
    """One document per row of `frame`: its `text_column`, its `id` (else `name:row`)."""
    import polars as pl

    if text_column not in frame.columns and "." in text_column:  # a field of a struct column
        frame = _nested(frame, path, text_column)
    if text_column not in frame.columns:
        raise CorpusError(
            message(
                "missing_column", path=path, column=show(text_column), columns=names(frame.columns)
            )  # fmt: skip
        )
    if frame.schema[text_column] not in (pl.String, pl.Utf8):
        raise CorpusError(
            message(
                "column_not_text",
                path=path,
                column=show(text_column),
                dtype=frame.schema[text_column],
            )  # fmt: skip
        )
    limit, sizes = document_limit(), frame[text_column].str.len_bytes()
    if frame.height and (sizes.max() or 0) > limit:
        raise too_long(f"{path}:{int(sizes.arg_max() or 0) + 1}", limit)
    has_id = "id" in frame.columns
    for row_no, row in enumerate(frame.iter_rows(named=True), start=1):
        text = row[text_column] or ""
        doc_id = str(row["id"]) if has_id and row["id"] is not None else f"{name}:{row_no}"
        meta = {k: v for k, v in row.items() if k not in (text_column, "id")}
        meta["row"] = row_no
        yield Document(id=doc_id, text=text, meta=meta, source=f"{path}:{row_no}")


def _nested(frame: Any, path: Path, dotted: str) -> Any:
    """`frame` with the struct field `a.b.c` as a column named `a.b.c` (as JSONL reads it)."""
    import polars as pl

    head, *rest = dotted.split(".")
    if head not in frame.columns:
        return frame
    expr, dtype = pl.col(head), frame.schema[head]
    for step in rest:
        fields = [f.name for f in getattr(dtype, "fields", [])]
        if step not in fields:
            raise CorpusError(message("missing_column", path=path, column=show(dotted),
                                      columns=names(fields)))  # fmt: skip
        expr = expr.struct.field(step)
        dtype = dict((f.name, f.dtype) for f in dtype.fields)[step]
    return frame.with_columns(expr.alias(dotted))


def is_dataset(folder: Path) -> bool:
    """Whether `folder` is a `datasets` save_to_disk folder (a Dataset or a DatasetDict)."""
    return (folder / "dataset_dict.json").is_file() or (
        (folder / "state.json").is_file() and (folder / "dataset_info.json").is_file()
    )


def read_dataset(folder: Path, name: str, text_column: str) -> Iterator[Document]:
    """The documents of a `datasets` folder: each split's rows, ids `name/split:row` unless
    an `id` column gives them."""
    if (folder / "dataset_dict.json").is_file():
        splits = _json(folder, "dataset_dict.json").get("splits")
        if not isinstance(splits, list) or not all(isinstance(s, str) for s in splits):
            raise CorpusError(message("bad_dataset", path=folder, file="dataset_dict.json",
                                      reason="no list of splits"))  # fmt: skip
        for split in splits:
            yield from read_dataset(
                _inside(folder, split, "dataset_dict.json"), f"{name}/{split}", text_column
            )
        return
    files = _json(folder, "state.json").get("_data_files")
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and "filename" in f for f in files
    ):
        raise CorpusError(message("bad_dataset", path=folder, file="state.json",
                                  reason="no list of _data_files"))  # fmt: skip
    count = 0
    for entry in files:
        arrow = _inside(folder, str(entry["filename"]), "state.json")
        for doc in read_table(arrow, name, text_column, kind="arrow"):
            count += 1
            if doc.id.startswith(f"{name}:"):  # numbered across the folder's files
                doc = Document(f"{name}:{count}", doc.text, doc.meta, doc.source)
            yield doc


def _inside(folder: Path, name: str, file: str) -> Path:
    """`folder / name`, which `file` names, refused unless it lies inside `folder` (an
    absolute name, `..` or a link out would read files the folder's owner did not give)."""
    path = folder / name
    try:
        inside = path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        inside = False
    if not inside:
        raise CorpusError(message("outside_dataset", path=folder, file=file, name=show(name)))
    return path


def _json(folder: Path, file: str) -> dict[str, Any]:
    try:
        data = json.loads((folder / file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CorpusError(message("bad_dataset", path=folder, file=file,
                                  reason=show(str(e), limit=120))) from e  # fmt: skip
    if not isinstance(data, dict):
        raise CorpusError(message("bad_dataset", path=folder, file=file, reason="not an object"))
    return data
