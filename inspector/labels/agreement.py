"""How well the heuristic tags agree with people, and people with each other.

Each (annotator, target span) counts once, with its latest live label. Heuristic against
human: a confusion matrix (rows: heuristic tag, columns: human label), Cohen's kappa, and per
task the precision and recall of the heuristic. Between two annotators: kappa and the matrix
over the spans both labelled.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from inspector import visible
from inspector.errors import message

SPAN = ["corpus", "doc_id", "char_start", "char_end"]


def latest_labels(table: pl.DataFrame) -> pl.DataFrame:
    """One row per (annotator, span): the latest live label (skips dropped)."""
    live = table.filter(pl.col("undone").is_null() & (pl.col("action") == "label")).sort("id")
    return live.group_by(["annotator", *SPAN], maintain_order=True).last()


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa of two labellings of the same items: (p_o - p_e) / (1 - p_e)."""
    n = len(a)
    if n == 0:
        return float("nan")
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca.keys() | cb.keys()) / (n * n)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


@dataclass
class Agreement:
    """Two labellings of the same items compared."""

    name_a: str
    name_b: str
    items: int
    kappa: float
    accuracy: float
    confusion: pl.DataFrame  # rows: labels of a; columns: labels of b
    per_task: pl.DataFrame  # task, precision and recall of a against b, support

    def summary(self) -> str:
        """One line: who against whom, on how many targets, agreement and kappa."""
        return (
            f"{visible.line(self.name_a)} against {visible.line(self.name_b)}: {self.items} "
            f"targets, agreement {self.accuracy:.1%}, Cohen's kappa {self.kappa:.3f}"
        )

    def render(self) -> str:
        lines = [
            self.summary(),
            f"confusion (rows: {visible.line(self.name_a)}, columns: {visible.line(self.name_b)})",
        ]
        lines += _indented(self.confusion)
        lines.append(
            f"per task ({visible.line(self.name_a)} as the prediction, "
            f"{visible.line(self.name_b)} as the truth)"
        )
        lines += _indented(self.per_task)
        return "\n".join(lines)


def compare_labels(a: Sequence[str], b: Sequence[str], name_a: str, name_b: str) -> Agreement:
    tasks = sorted(set(a) | set(b))
    counts = Counter(zip(a, b, strict=True))
    confusion = pl.DataFrame(
        {name_a: tasks, **{t: [counts[(r, t)] for r in tasks] for t in tasks}},
        schema={name_a: pl.String, **{t: pl.Int64 for t in tasks}},
    )
    per_task = pl.DataFrame(
        {
            "task": tasks,
            "precision": [
                _ratio(counts[(t, t)], sum(counts[(t, x)] for x in tasks)) for t in tasks
            ],
            "recall": [_ratio(counts[(t, t)], sum(counts[(x, t)] for x in tasks)) for t in tasks],
            "support": [sum(counts[(x, t)] for x in tasks) for t in tasks],
        }
    )
    n = len(a)
    accuracy = sum(x == y for x, y in zip(a, b, strict=True)) / n if n else float("nan")
    return Agreement(name_a, name_b, n, cohen_kappa(a, b), accuracy, confusion, per_task)


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def heuristic_vs_human(table: pl.DataFrame, annotator: str | None = None) -> Agreement:
    """The heuristic tag at labelling time against the human label."""
    latest = latest_labels(table).filter(pl.col("heuristic").is_not_null())
    if annotator is not None:
        latest = latest.filter(pl.col("annotator") == annotator)
    return compare_labels(
        latest["heuristic"].to_list(), latest["label"].to_list(), "heuristic", "human"
    )


def between_annotators(table: pl.DataFrame, a: str, b: str) -> Agreement:
    """Two annotators over the spans both labelled."""
    latest = latest_labels(table)
    left = latest.filter(pl.col("annotator") == a).select(*SPAN, pl.col("label").alias("a"))
    right = latest.filter(pl.col("annotator") == b).select(*SPAN, pl.col("label").alias("b"))
    both = left.join(right, on=SPAN)
    return compare_labels(both["a"].to_list(), both["b"].to_list(), a, b)


def agreements(
    table: pl.DataFrame, annotators: Sequence[str] = (), where: str = ""
) -> list[Agreement]:
    """What `inspector agreement` and the app's agreement screen show, for the labels in
    `table` (`where` names their database in errors): with no `annotators`, the heuristic
    against everyone, then each pair of people; with one, the heuristic against that person;
    with two, those two people."""
    from inspector.labels.columns import AnnotationError

    if table.is_empty():
        raise AnnotationError(message("no_labels", where=where))
    known = sorted(set(table["annotator"]))
    if len(annotators) > 2:
        raise AnnotationError(message("annotators_count"))
    unknown = [p for p in annotators if p not in known]
    if unknown:
        raise AnnotationError(message("annotator_unknown", unknown=unknown[0], where=where))
    if len(annotators) == 2:
        return [between_annotators(table, *annotators)]
    if len(annotators) == 1:
        return [heuristic_vs_human(table, annotators[0])]
    pairs = [(a, b) for i, a in enumerate(known) for b in known[i + 1 :]]
    return [heuristic_vs_human(table), *(between_annotators(table, a, b) for a, b in pairs)]


def _indented(table: pl.DataFrame) -> list[str]:
    """A table as the text tables print it (`tables/render.py`), indented under its caption."""
    from inspector.tables.render import render

    return ["  " + line for line in render(table, "table").splitlines()]
