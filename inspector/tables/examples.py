"""From a per-task number to its examples: the highest-loss targets of a task as
keyword-in-context lines (left context, target, right context), with loss, rank and the rule
that decided the task.

The context is cut from the documents' text where it is given (exact), else rebuilt from the
neighbouring targets' text (the table alone: a multibyte character split into byte pieces,
`<0xE6>`, is put back together from their bytes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from inspector.errors import message
from inspector.lm.pieces import shown_bytes
from inspector.tables.tasks import TasksError

CONTEXT_CHARS = 40
COLUMNS = ("doc_id", "pos", "task", "task_reason", "left", "target", "right", "nll", "rank", "prob")


def examples(
    frame: pl.LazyFrame,
    tasks: Sequence[str] | None = None,
    top: int = 20,
    min_loss: float | None = None,
    texts: Mapping[str, str] | None = None,
    context: int = CONTEXT_CHARS,
) -> pl.DataFrame:
    """The `top` highest-loss targets (of `tasks`, at least `min_loss` nats), highest first,
    each with `context` characters of text on either side."""
    chosen = frame
    if tasks:
        present = set(frame.select(pl.col("task").unique()).collect()["task"].to_list())
        unknown = [t for t in tasks if t not in present]
        if unknown:
            raise TasksError(
                message("task_unknown", unknown=unknown[0], present=", ".join(sorted(present)))
            )
        chosen = chosen.filter(pl.col("task").is_in(list(tasks)))
    if min_loss is not None:
        chosen = chosen.filter(pl.col("nll") >= min_loss)
    rows = (
        chosen.select(
            "doc_id",
            "pos",
            "char_start",
            "char_end",
            "token",
            "task",
            "task_reason",
            "nll",
            "rank",
            "prob",
        )  # fmt: skip
        .sort("nll", "doc_id", "pos", descending=[True, False, False])
        .head(top)
        .collect()
    )
    if texts is None:
        texts = rebuilt_texts(frame, rows["doc_id"].unique().to_list())
    left, target, right = [], [], []
    for r in rows.iter_rows(named=True):
        text = texts.get(r["doc_id"], "")
        a, b = r["char_start"], r["char_end"]
        left.append(text[max(0, a - context) : a])
        target.append(text[a:b] if text else r["token"])
        right.append(text[b : b + context])
    return rows.with_columns(
        pl.Series("left", left, dtype=pl.String),
        pl.Series("target", target, dtype=pl.String),
        pl.Series("right", right, dtype=pl.String),
    ).select(COLUMNS)


def rebuilt_texts(frame: pl.LazyFrame, doc_ids: list[str]) -> dict[str, str]:
    """Each document's text as its targets spell it (their text laid at their spans)."""
    parts = (
        frame.filter(pl.col("doc_id").is_in(doc_ids))
        .select("doc_id", "char_start", "char_end", "token")
        .collect()
    )
    out = {}
    for (doc_id,), part in parts.partition_by("doc_id", as_dict=True).items():
        chars: list[str] = [" "] * int(part["char_end"].max() or 0)  # type: ignore[arg-type]
        pieces: dict[tuple[int, int], list[str]] = {}
        for a, b, token in part.select("char_start", "char_end", "token").iter_rows():
            if b - a == len(token):
                chars[a:b] = list(token)
            else:  # the byte pieces of one multibyte character share its span: joined
                pieces.setdefault((a, b), []).append(token)
        for (a, b), shown in pieces.items():
            text = shown_bytes("".join(shown)).decode("utf-8", "replace")
            if len(text) == b - a:
                chars[a:b] = list(text)
        out[str(doc_id)] = "".join(chars)
    return out
