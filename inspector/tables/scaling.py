"""How each task's loss scales: per task, mean loss against model size fitted across runs.

With more runs than the three parameters, a power law with a floor,
L(N) = a·N^(-α) + c, as scaling-law papers fit it: α how fast the loss falls with size, c
the loss it falls towards (what more size alone would not remove), and `above_floor` the
share of the largest run's loss still above c. With two or three runs (three points fix
three parameters exactly, so nothing would test the fit), a log-linear fit,
L(N) = b + k·ln N, reported as the change per tenfold size. `r2` is the share of the
variance across runs the fit explains. Intervals are a percentile bootstrap over documents:
the same documents drawn for every run (the runs saw the same text), each draw refitted.

The power law is fitted by variable projection: for a fixed α the loss is linear in a and
c, so a least-squares solve gives them; α is searched on a log grid and refined by golden
section. A floor below zero or a loss that grows with size has no power law with a floor
(a ≥ 0, c ≥ 0); those are fitted with the constraint at its edge and say so in `note`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from inspector.tables.run import Run
from inspector.tables.tasks import LN2, TasksError, summarize

FIT_NOTE = (
    "per task, its loss (in the unit fitted) against size: alpha and floor of L = a*N^-alpha + floor "
    "(4 or more runs), or the change per tenfold size (log-linear, 3 runs); above_floor: the "
    "share of the largest run's loss above the floor; r2 across runs; [low, high]: 95% "
    "bootstrap over documents (--format csv or json: every number)"
)
TOKENIZERS_DIFFER = (
    "the runs' tokenizers differ: they split the text into different tokens, so nats per token "
    "do not compare"
)
# the fit table's columns a narrow terminal loses first (tables/render.fit_width)
FIT_DROPS = ("runs", "note", "loss_smallest", "loss_largest", "r2", "above_floor")
POWER_LAW_RUNS = 4  # fewer runs than this: the log-linear fit
ALPHAS = np.geomspace(1e-3, 4.0, 240)  # the search grid of the exponent
RESAMPLES = 400
LN10 = math.log(10)


@dataclass(frozen=True)
class Fit:
    kind: str  # "power law" or "log-linear"
    a: float | None = None  # power law: L = a·N^-alpha + c
    alpha: float | None = None
    c: float | None = None
    b: float | None = None  # log-linear: L = b + k·ln N
    per_tenfold: float | None = None  # log-linear: k·ln 10, the change per tenfold size
    r2: float | None = None
    note: str = ""

    def at(self, n: np.ndarray) -> np.ndarray:
        """The fitted loss at sizes `n`."""
        n = np.asarray(n, dtype=np.float64)
        if self.kind == "power law":
            return self.a * n ** (-self.alpha) + self.c  # type: ignore[operator]
        return self.b + self.per_tenfold / LN10 * np.log(n)  # type: ignore[operator]


def fit_power_law(sizes: Sequence[float], losses: Sequence[float]) -> Fit:
    """L(N) = a·N^(-α) + c by least squares, a ≥ 0, c ≥ 0 (module docstring)."""
    return power_laws(sizes, np.asarray(losses, np.float64)[None, :])[0]


def power_laws(sizes: Sequence[float], losses: np.ndarray) -> list[Fit]:
    """`fit_power_law` of each row of `losses` (rows, runs) at once (the bootstrap's draws)."""
    n, y = np.asarray(sizes, np.float64), np.asarray(losses, np.float64)
    x = np.log(n / n.min())  # sizes relative to the smallest: N^-α stays within (0, 1]
    err = _errors(np.broadcast_to(ALPHAS, (len(y), len(ALPHAS))), x, y)[0]
    i = err.argmin(1)
    lo, hi = ALPHAS[np.maximum(i - 1, 0)], ALPHAS[np.minimum(i + 1, len(ALPHAS) - 1)]
    golden = (math.sqrt(5) - 1) / 2
    for _ in range(40):  # golden-section search of α between the grid's neighbours
        m = np.stack([hi - golden * (hi - lo), lo + golden * (hi - lo)], 1)
        e = _errors(m, x, y)[0]
        left = e[:, 0] < e[:, 1]
        lo, hi = np.where(left, lo, m[:, 0]), np.where(left, m[:, 1], hi)
    alpha = (lo + hi) / 2
    sse, a_rel, c, flag = (v[:, 0] for v in _errors(alpha[:, None], x, y))
    fits = []
    for k in range(len(y)):
        note = ("", "floor at 0", "loss does not fall with size")[int(flag[k])]
        falls = flag[k] != 2  # a flat fit has no exponent
        fits.append(Fit(
            "power law", a=float(a_rel[k] * n.min() ** alpha[k]),
            alpha=float(alpha[k]) if falls else None, c=float(c[k]),
            r2=_r2(float(sse[k]), y[k]), note=note,
        ))  # fmt: skip
    return fits


def _errors(
    alphas: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each row of `y` (rows, runs) and each of its `alphas` (rows, k): the squared error
    of the best a ≥ 0, c ≥ 0 for the basis exp(-α·x), those a and c, and which constraint
    held them (0 none, 1 c at 0, 2 a at 0); each (rows, k)."""
    u = np.exp(-alphas[..., None] * x)  # (rows, k, runs)
    t = y[:, None, :]
    du = u - u.mean(-1, keepdims=True)
    var = (du**2).sum(-1)
    a = (du * (t - t.mean(-1, keepdims=True))).sum(-1) / np.where(var > 0, var, 1)
    c = t.mean(-1) - a * u.mean(-1)
    flag = np.zeros(a.shape)
    low = c < 0  # no floor below zero: the pure power law through the origin
    a = np.where(low, np.maximum((u * t).sum(-1) / (u**2).sum(-1), 0.0), a)
    c, flag = np.where(low, 0.0, c), np.where(low, 1, flag)
    rising = a < 0  # the loss grows with size: no fall to fit
    a, c = np.where(rising, 0.0, a), np.where(rising, t.mean(-1), c)
    flag = np.where(rising, 2, flag)
    sse = ((a[..., None] * u + c[..., None] - t) ** 2).sum(-1)
    return sse, a, c, flag


def fit_log_linear(sizes: Sequence[float], losses: Sequence[float]) -> Fit:
    """L(N) = b + k·ln N by least squares."""
    x, y = np.log(np.asarray(sizes, np.float64)), np.asarray(losses, np.float64)
    k, b = np.polyfit(x, y, 1)
    err = float(((b + k * x - y) ** 2).sum())
    return Fit("log-linear", b=float(b), per_tenfold=float(k * LN10), r2=_r2(err, y))


def fit(sizes: Sequence[float], losses: Sequence[float]) -> Fit:
    """The fit the number of runs allows: a power law with a floor from `POWER_LAW_RUNS`."""
    if len(sizes) >= POWER_LAW_RUNS:
        return fit_power_law(sizes, losses)
    return fit_log_linear(sizes, losses)


def _r2(sse: float, y: np.ndarray) -> float | None:
    total = float(((y - y.mean()) ** 2).sum())
    return None if total == 0 or len(y) < 3 else 1.0 - sse / total


def fit_tasks(
    per_doc: pl.DataFrame, sizes: Sequence[float], resamples: int = RESAMPLES, seed: int = 0
) -> pl.DataFrame:
    """One row per task (and `all`): the fit of its mean loss against `sizes`, with 95%
    bootstrap intervals over documents. `per_doc` has a row per run (`run`: 0, 1, … in the
    order of `sizes`), document and task: `doc_id`, `task`, `tokens`, `nll_sum`; the runs
    need not be in order of size."""
    runs = len(sizes)
    order = np.argsort(np.asarray(sizes, np.float64), kind="stable")  # smallest first
    sizes = [float(sizes[i]) for i in order]
    docs = sorted(set(per_doc["doc_id"].to_list()))
    tasks = [t for t in per_doc["task"].unique(maintain_order=True).to_list() if t != "all"]
    doc_index = {d: i for i, d in enumerate(docs)}
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(docs), size=(resamples, len(docs)))
    counts = np.stack([np.bincount(d, minlength=len(docs)) for d in draws])  # draws per doc
    rows = []
    for task in [*tasks, "all"]:
        part = per_doc if task == "all" else per_doc.filter(pl.col("task") == task)
        tokens, nll = np.zeros((runs, len(docs))), np.zeros((runs, len(docs)))
        for r, d, t, s in part.select("run", "doc_id", "tokens", "nll_sum").iter_rows():
            tokens[r, doc_index[d]] += t
            nll[r, doc_index[d]] += s
        tokens, nll = tokens[order], nll[order]
        if (tokens.sum(1) == 0).any():
            continue  # a task some run has no targets of: nothing to fit
        mean = nll.sum(1) / tokens.sum(1)
        found = fit(sizes, mean)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = (counts @ nll.T) / (counts @ tokens.T)  # (resamples, runs)
        means = means[np.isfinite(means).all(1)]  # a draw without the task in some run: out
        if runs >= POWER_LAW_RUNS:
            boot = power_laws(sizes, means)
        else:
            boot = [fit_log_linear(sizes, m) for m in means]
        rows.append(_row(task, found, mean, boot))
    return pl.DataFrame(rows, schema=FIT_SCHEMA, orient="row")


FIT_SCHEMA = {
    "task": pl.String, "fit": pl.String, "runs": pl.Int64, "alpha": pl.Float64,
    "alpha_ci_low": pl.Float64, "alpha_ci_high": pl.Float64, "floor": pl.Float64,
    "floor_ci_low": pl.Float64, "floor_ci_high": pl.Float64, "above_floor": pl.Float64,
    "per_tenfold": pl.Float64, "per_tenfold_ci_low": pl.Float64,
    "per_tenfold_ci_high": pl.Float64, "a": pl.Float64, "b": pl.Float64, "r2": pl.Float64,
    "loss_smallest": pl.Float64, "loss_largest": pl.Float64, "note": pl.String,
}  # fmt: skip


def _row(task: str, found: Fit, mean: np.ndarray, boot: list[Fit]) -> list[object]:
    def ci(values: list[float | None]) -> tuple[float | None, float | None]:
        kept = [v for v in values if v is not None]
        if len(kept) < 20:
            return None, None
        low, high = np.quantile(kept, [0.025, 0.975])
        return float(low), float(high)

    largest = float(mean[-1])
    if found.kind == "power law":
        above = None if largest <= 0 else (largest - float(found.c)) / largest  # type: ignore[arg-type]
        slope = None
        slope_ci: tuple[float | None, float | None] = (None, None)
    else:
        above, slope = None, found.per_tenfold
        slope_ci = ci([f.per_tenfold for f in boot])
    return [
        task, found.kind, len(mean), found.alpha, *ci([f.alpha for f in boot]), found.c,
        *ci([f.c for f in boot]), above, slope, *slope_ci, found.a, found.b, found.r2,
        float(mean[0]), largest, found.note,
    ]  # fmt: skip


FIT_UNITS = {  # --fit-unit: what each document's loss is summed over, and its name
    "token": ("tokens", "nats per token"),
    "byte": ("bytes", "bits per byte"),
    "word": ("words", "nats per word"),
}


@dataclass(frozen=True)
class Fitted:
    """`fit_runs`'s answer: the fits, the size of each run, and whether the runs split the
    corpus into different numbers of tokens (other tokenizers: nats per token do not
    compare across them; bits per byte and nats per word do)."""

    fits: pl.DataFrame
    sizes: list[float]
    unit: str
    tokenizers_differ: bool


def fit_runs(
    runs: Sequence[Run],
    sizes: Sequence[float] | None = None,
    unit: str = "auto",
    resamples: int = RESAMPLES,
) -> Fitted:
    """`fit_tasks` of runs of one corpus at `sizes` (default: each model's parameter
    count), of the loss per `unit` (`FIT_UNITS`; `auto`: per token where the runs share a
    tokenizer, else per byte; per token across tokenizers is refused). The runs must be of
    one corpus and differ in size."""
    from inspector.errors import message
    from inspector.tables.compare import same_corpus, tokens_differ

    if len(runs) < 3:
        raise TasksError(message("fit_runs", runs=len(runs)))
    same_corpus(runs)
    differ = tokens_differ(runs)
    if unit == "auto":
        unit = "byte" if differ else "token"
    elif unit == "token" and differ:
        raise TasksError(message("fit_token_across_tokenizers"))
    if sizes is None:
        found = [r.settings.get("n_params") for r in runs]
        if not all(found):
            raise TasksError(message("fit_no_size"))
        sizes = [float(n) for n in found]  # type: ignore[arg-type]
    elif len(sizes) != len(runs):
        raise TasksError(message("fit_sizes_count", sizes=len(sizes), runs=len(runs)))
    if len(set(sizes)) != len(sizes) or min(sizes) <= 0:
        raise TasksError(message("fit_sizes_differ", sizes=", ".join(f"{s:g}" for s in sizes)))
    loss = {  # each document-and-task's loss summed, in the unit's terms
        "token": pl.col("tokens") * pl.col("mean_nll"),
        "byte": pl.col("tokens") * pl.col("mean_nll") / LN2,
        # a task of no words (whitespace): its loss still counts on the `all` row
        "word": pl.when(pl.col("words") > 0)
        .then(pl.col("words") * pl.col("nats_per_word"))
        .otherwise(pl.col("tokens") * pl.col("mean_nll")),
    }[unit]
    count = pl.col(FIT_UNITS[unit][0]).fill_null(0)
    tables = [summarize(run.frame, "task,doc").filter(pl.col("task") != "all") for run in runs]
    if any(t[FIT_UNITS[unit][0]].null_count() == t.height for t in tables):
        raise TasksError(message("fit_unit_missing", unit=FIT_UNITS[unit][1]))
    parts = [
        table.select(
            pl.lit(i).alias("run"), "doc_id", "task", count.alias("tokens"), loss.alias("nll_sum")
        )  # fmt: skip
        for i, table in enumerate(tables)
    ]
    fits = fit_tasks(pl.concat(parts), sizes, resamples)
    return Fitted(fits, list(sizes), unit, differ)


def curve(row: dict[str, object], sizes: np.ndarray) -> np.ndarray:
    """A `fit_tasks` row's fitted loss at `sizes` (for drawing its curve)."""
    if row["fit"] == "power law":
        return Fit("power law", a=row["a"], alpha=row["alpha"] or 0.0, c=row["floor"]).at(sizes)  # type: ignore[arg-type]
    return Fit("log-linear", b=row["b"], per_tenfold=row["per_tenfold"]).at(sizes)  # type: ignore[arg-type]


def readable(fits: pl.DataFrame) -> pl.DataFrame:
    """The fits as people read them: each estimate with its interval in one cell
    (`0.31 [0.27, 0.35]`), the columns of a fit no task has left out, `a` and `b` (they
    draw the curves) left to the data formats."""

    def with_ci(name: str) -> pl.Expr:
        value, low, high = (pl.col(name), pl.col(f"{name}_ci_low"), pl.col(f"{name}_ci_high"))
        cell = pl.format("{} [{}, {}]", value.round(3), low.round(3), high.round(3))
        return (
            pl.when(value.is_null()).then(pl.lit("-"))
            .when(low.is_null()).then(value.round(3).cast(pl.String))
            .otherwise(cell).alias(name)
        )  # fmt: skip

    kinds = set(fits["fit"].to_list())
    columns: list[pl.Expr | str] = ["task", "fit", "runs"]
    if "power law" in kinds:
        columns += [with_ci("alpha"), with_ci("floor"), "above_floor"]
    if "log-linear" in kinds:
        columns += [with_ci("per_tenfold")]
    columns += ["r2", "loss_smallest", "loss_largest"]
    if fits["note"].str.len_chars().sum():
        columns.append("note")
    return fits.select(columns)
