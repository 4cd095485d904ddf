"""Per-task loss tables: the overall loss as a weighted sum of per-task losses.

For a grouping (by task, by document, or by document and task) each row has the group's
`tokens`, its `token_share` of its parent (the corpus, or its document), `mean_nll`,
`loss_contribution = token_share * mean_nll` (so the contributions of a parent's rows add
up to the parent's mean loss), `loss_share`, `top1_accuracy`, `median_rank`,
`mean_entropy`, and a normal-approximation 95% confidence interval of `mean_nll`. Rows
named `all` close each parent. Computed lazily with polars, so Parquet inputs larger than
memory stream through.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from inspector import visible
from inspector.errors import InspectorError
from inspector.tables.run import Run

GROUPINGS = {"task": ["task"], "doc": ["doc_id"], "task,doc": ["doc_id", "task"]}
FORMATS = ("table", "csv", "parquet", "json", "jsonl", "md")
Z95 = 1.959963984540054  # two-sided 95% normal quantile
NEEDED = ("doc_id", "task", "nll", "rank", "entropy")
COLUMNS = (
    "tokens", "token_share", "mean_nll", "loss_contribution", "loss_share", "top1_accuracy",
    "median_rank", "mean_entropy", "mean_nll_ci_low", "mean_nll_ci_high", "ci_method",
)  # fmt: skip
# The 95% interval of a mean loss: losses are skewed (most near 0, a long tail), so a normal
# interval on a few tokens can reach below zero. Below this many tokens the interval is a
# percentile bootstrap (inside the range of the data, so never below 0); above it the normal
# approximation, which the central limit theorem makes good there.
BOOTSTRAP_BELOW = 100
BOOTSTRAP_RESAMPLES = 2000


# What tells two runs of one corpus apart: (settings key, the name shown for it)
RUN_SETTINGS = (
    ("model_identity", "model"), ("dtype", "dtype"), ("window", "window"), ("stride", "stride"),
    ("top_k", "k"), ("tagger_rules_hash", "rules"),
)  # fmt: skip


RUN_COLUMNS = ("dtype", "window", "stride", "top_k", "rules", "corpus")  # each row's run


class TasksError(InspectorError):
    """A per-task request that cannot be answered as asked."""


def summarize(
    frame: pl.LazyFrame, by: str = "task", tasks: Sequence[str] | None = None
) -> pl.DataFrame:
    """The per-task (or per-document) table of one token table."""
    if by not in GROUPINGS:
        raise TasksError(f"--by {by}: use one of {', '.join(GROUPINGS)}")
    frame = frame.select(NEEDED)
    if tasks:
        present = set(
            frame.select(pl.col("task").unique()).collect(engine="streaming")["task"].to_list()
        )
        unknown = [t for t in tasks if t not in present]
        if unknown:
            raise TasksError(
                f"--task {unknown[0]}: no such task in this table; tasks here: {', '.join(sorted(present))}"
            )
        frame = frame.filter(pl.col("task").is_in(list(tasks)))
    keys = GROUPINGS[by]
    parent = ["doc_id"] if by == "task,doc" else []
    groups = _aggregate(frame, keys)
    totals = _aggregate(frame, parent)
    closing = totals.with_columns(*(pl.lit("all").alias(k) for k in keys if k not in parent))
    if not parent:
        closing = closing.with_columns(pl.lit(1).alias("_order"))
    rows = pl.concat(
        [
            groups.with_columns(pl.lit(0).alias("_order")),
            closing.with_columns(pl.lit(1).alias("_order")),
        ],
        how="diagonal",
    )
    parent_totals = totals.select(
        *parent, pl.col("tokens").alias("_parent_tokens"), pl.col("_nll_sum").alias("_parent_nll")
    )
    rows = (
        rows.join(parent_totals, on=parent, how="left")
        if parent
        else rows.join(parent_totals, how="cross")
    )
    rows = rows.with_columns(
        (pl.col("tokens") / pl.col("_parent_tokens")).alias("token_share"),
        (pl.col("_nll_sum") / pl.col("_parent_nll")).alias("loss_share"),
        (pl.col("_nll_std") / pl.col("tokens").sqrt() * Z95).alias("_half"),
    ).with_columns(
        (pl.col("token_share") * pl.col("mean_nll")).alias("loss_contribution"),
        (pl.col("mean_nll") - pl.col("_half")).alias("mean_nll_ci_low"),
        (pl.col("mean_nll") + pl.col("_half")).alias("mean_nll_ci_high"),
    )
    order = [*parent, "_order", pl.col("loss_contribution")]
    # the streaming engine keeps memory flat when the input is a scan of Parquet parts
    out = rows.sort(order, descending=[*(False for _ in parent), False, True]).collect(
        engine="streaming"
    )
    out = _bootstrap_small(out, frame, keys, parent)
    return out.select(*keys, *COLUMNS)


def _bootstrap_small(
    out: pl.DataFrame, frame: pl.LazyFrame, keys: list[str], parent: list[str]
) -> pl.DataFrame:
    """The 95% interval of `mean_nll` by percentile bootstrap for rows of fewer than
    `BOOTSTRAP_BELOW` tokens (a fixed seed: the same table gives the same interval)."""
    import numpy as np

    method = (
        pl.when(pl.col("tokens") < 2)
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("tokens") < BOOTSTRAP_BELOW)
        .then(pl.lit("bootstrap"))
        .otherwise(pl.lit("normal"))
    )
    out = out.with_columns(method.alias("ci_method"))
    small = out.filter(pl.col("ci_method") == "bootstrap")
    if small.is_empty():
        return out
    values = _losses_of(small, frame, keys, parent)
    rng = np.random.default_rng(0)
    low, high = out["mean_nll_ci_low"].to_list(), out["mean_nll_ci_high"].to_list()
    index = out.with_row_index("_row").filter(pl.col("ci_method") == "bootstrap")
    for row in index.iter_rows(named=True):
        nll = values[tuple(row[k] for k in keys)]
        draws = rng.integers(0, len(nll), size=(BOOTSTRAP_RESAMPLES, len(nll)))
        low[row["_row"]], high[row["_row"]] = np.quantile(
            nll[draws].mean(axis=1), [0.025, 0.975]
        ).tolist()
    return out.with_columns(
        pl.Series("mean_nll_ci_low", low, dtype=pl.Float64),
        pl.Series("mean_nll_ci_high", high, dtype=pl.Float64),
    )


def _aggregate(frame: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    aggs = [
        pl.len().cast(pl.Int64).alias("tokens"),
        pl.col("nll").sum().alias("_nll_sum"),
        pl.col("nll").mean().alias("mean_nll"),
        pl.col("nll").std().alias("_nll_std"),
        (pl.col("rank") == 1).mean().alias("top1_accuracy"),
        pl.col("rank").median().alias("median_rank"),
        pl.col("entropy").mean().alias("mean_entropy"),
    ]
    return frame.group_by(keys).agg(aggs) if keys else frame.select(aggs)


def _losses_of(
    rows: pl.DataFrame, frame: pl.LazyFrame, keys: list[str], parent: list[str]
) -> dict[tuple[Any, ...], Any]:
    """The losses of each of `rows` (summary rows, keyed by `keys`), read in one pass per
    kind of row: the groups, and the closing `all` rows (all tokens of their parent)."""
    import numpy as np

    out: dict[tuple[Any, ...], Any] = {}
    closing = [k for k in keys if k not in parent]  # "all" in a closing row
    groups = rows.filter(pl.all_horizontal(pl.col(k) != "all" for k in closing))
    totals = rows.filter(pl.all_horizontal(pl.col(k) == "all" for k in closing))
    for part, on in ((groups, keys), (totals, parent)):
        if part.is_empty():
            continue
        lazy = frame.join(part.lazy().select(on), on=on, how="semi") if on else frame
        table = lazy.group_by(on or pl.lit(0).alias("_all")).agg(pl.col("nll")).collect()
        for row in table.iter_rows(named=True):
            key = tuple(row[k] if k in on else "all" for k in keys)
            out[key] = np.sort(np.asarray(row["nll"], dtype=np.float64))  # order-free: same draws
    return out


def differing(runs: Sequence[Run]) -> list[str]:
    """The run settings (`RUN_SETTINGS` names) whose values are not the same in all `runs`."""
    return [
        name
        for key, name in RUN_SETTINGS
        if len({json.dumps(r.settings.get(key), sort_keys=True) for r in runs}) > 1
    ]


def _short(key: str, value: Any) -> str:
    """A setting's value as a reader tells runs apart by it (hashes cut to 8 characters)."""
    if value is None:
        return "?"
    if key in ("tagger_rules_hash", "corpus_hash", "model_identity"):
        return str(value).split(":")[-1][:8]
    return str(value)


def run_name(run: Run, apart: Sequence[str], same_label: bool = False) -> str:
    """`run.label`, followed by the settings in `apart` that tell it from the other runs
    compared: `SmolLM2 (dtype bfloat16, window 16)`; the model's identity too when
    `same_label` (two different models shown under one name)."""
    keys = {name: key for key, name in RUN_SETTINGS}
    shown = [
        f"{n} {_short(keys[n], run.settings.get(keys[n]))}"
        for n in apart
        if n != "model" or same_label
    ]
    return f"{run.label} ({', '.join(shown)})" if shown else run.label


def describe(runs: Sequence[Run]) -> list[str]:
    """Lines naming the run(s) a table comes from: the corpus and rules, the settings all
    runs share, and which settings differ (named in the `model` column)."""
    first = runs[0].settings
    corpus = _short("corpus_hash", first.get("corpus_hash"))
    docs = first.get("documents")
    rules = first.get("tagger_rules") or "?"
    apart = differing(runs)
    labels = {r.labels for r in runs}
    lines = [
        f"corpus {corpus}" + (f" ({docs:,} document{'' if docs == 1 else 's'})" if isinstance(docs, int) else "")
        + f" · rules {_short('tagger_rules_hash', first.get('tagger_rules_hash'))}"
        + ("" if "rules" in apart else f" ({Path(str(rules)).name})")
        + (f" · labels {' and '.join(sorted(labels))}" if labels != {"heuristic"} else "")
    ]  # fmt: skip
    shared = [
        f"{name} {_short(key, first.get(key))}"
        for key, name in RUN_SETTINGS
        if name not in apart and name not in ("model", "rules")
    ]
    model = "" if "model" in apart else f"model {runs[0].label} · "
    if len(runs) == 1:
        lines.append(f"run {model}{', '.join(shared)}")
    else:
        lines.append(f"runs {len(runs)} · same: {model}{', '.join(shared) or '-'}")
        lines.append(
            "differ in: " + ", ".join(apart) + " (each run's values are in its name)"
            if apart
            else "differ in: nothing (the same settings: repeated runs)"
        )
    return lines


def compare(
    runs: Sequence[Run], by: str = "task", tasks: Sequence[str] | None = None
) -> pl.DataFrame:
    """One block per run (first run first), with the change of `mean_nll` and of
    `loss_contribution` against the first run with the same label source (`labels`:
    heuristic or human); every run must be of the same corpus. The `model` column names the
    run with the settings that differ between the runs (`run_name`), and every row carries
    its run's settings (dtype, window, stride, top_k, rules, corpus), so an export says
    which run each number came from."""
    _same_corpus(runs)
    keys = GROUPINGS[by]
    apart = differing(runs)
    same_label = Counter(
        r.label for r in {r.settings.get("model_identity"): r for r in runs}.values()
    )
    blocks = []
    for run in runs:
        table = summarize(run.frame, by, tasks)
        st = run.settings
        blocks.append(
            table.with_columns(
                pl.lit(run_name(run, apart, same_label[run.label] > 1)).alias("model"),
                pl.lit(st.get("n_params"), dtype=pl.Int64).alias("n_params"),
                pl.lit(st.get("dtype"), dtype=pl.String).alias("dtype"),
                pl.lit(st.get("window"), dtype=pl.Int64).alias("window"),
                pl.lit(st.get("stride"), dtype=pl.Int64).alias("stride"),
                pl.lit(st.get("top_k"), dtype=pl.Int64).alias("top_k"),
                pl.lit(_short("tagger_rules_hash", st.get("tagger_rules_hash"))).alias("rules"),
                pl.lit(_short("corpus_hash", st.get("corpus_hash"))).alias("corpus"),
            ).select("model", "n_params", *table.columns, *RUN_COLUMNS)
        )
    firsts: dict[str, pl.DataFrame] = {}  # the first model of each label source is the baseline
    for run, block in zip(runs, blocks, strict=True):
        firsts.setdefault(run.labels, block)
    out = []
    for run, block in zip(runs, blocks, strict=True):
        base = firsts[run.labels].select(
            *keys, pl.col("mean_nll").alias("_m0"), pl.col("loss_contribution").alias("_c0")
        )
        out.append(
            block.join(base, on=keys, how="left", maintain_order="left")
            .with_columns(
                (pl.col("mean_nll") - pl.col("_m0")).alias("delta_mean_nll"),
                (pl.col("loss_contribution") - pl.col("_c0")).alias("delta_loss_contribution"),
                pl.lit(run.labels).alias("labels"),
            )
            .drop("_m0", "_c0")
        )
    table = pl.concat(out)
    front = ["model", "n_params", "labels"]
    rest = [c for c in table.columns if c not in front and c not in RUN_COLUMNS]
    return table.select(*front, *rest, *RUN_COLUMNS)


def _same_corpus(runs: Sequence[Run]) -> None:
    """Refuse to compare tables of different corpora (by corpus hash, else by document ids)."""
    first = runs[0]
    for run in runs[1:]:
        a, b = first.settings.get("corpus_hash"), run.settings.get("corpus_hash")
        if a and b:
            same = a == b
        else:
            ids = [
                sorted(r.frame.select(pl.col("doc_id").unique()).collect()["doc_id"].to_list())
                for r in (first, run)
            ]
            same = ids[0] == ids[1]
        if not same:
            raise TasksError(
                f"{run.source} is a table of another corpus than {first.source}; compare tables of the same corpus"
            )


# -- output -----------------------------------------------------------------------------
def render(table: pl.DataFrame, fmt: str) -> str:
    """The table as text: an aligned table, CSV, JSON, JSONL or Markdown."""
    if fmt == "csv":
        return table.write_csv()
    if fmt == "json":
        return table.write_json()
    if fmt == "jsonl":
        return table.write_ndjson()
    if fmt in ("table", "md"):
        cells = [
            [visible.line(cell(v, c)) for v, c in zip(row, table.columns, strict=True)]
            for row in table.iter_rows()
        ]
        header = [visible.line(c) for c in table.columns]
        if fmt == "md":
            lines = [
                "| " + " | ".join(header) + " |",
                "|" + "|".join(" --- " for _ in header) + "|",
            ]
            lines += ["| " + " | ".join(r) + " |" for r in cells]
            return "\n".join(lines) + "\n"
        widths = [
            max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
            for i, h in enumerate(header)
        ]
        text = [header, *cells]
        numeric = [table.schema[c].is_numeric() for c in header]
        return (
            "\n".join(
                "  ".join(
                    v.rjust(w) if num else v.ljust(w)
                    for v, w, num in zip(row, widths, numeric, strict=True)
                ).rstrip()
                for row in text
            )
            + "\n"
        )
    raise TasksError(f"--format {fmt}: use one of {', '.join(FORMATS)}")


def cell(value: Any, column: str = "") -> str:
    """One value as the text tables print it (4 decimals, ranks as ranks, sizes as 135M)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if column == "median_rank" and isinstance(value, float):
        return f"{value:,.1f}".removesuffix(".0")  # a rank, or halfway between two
    if column == "n_params" and isinstance(value, int):
        return param_count(value)  # 135M, 1.7B: the exact count is in csv, json and parquet
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return str(value)


# Columns a narrow terminal drops first from the aligned table (csv, md and the rest keep all)
NARROW_DROPS = (
    "corpus", "rules", "top_k", "stride", "window", "dtype", "ci_method", "mean_nll_ci_low",
    "mean_nll_ci_high", "mean_entropy", "labels", "delta_loss_contribution", "n_params",
    "median_rank", "loss_share", "top1_accuracy",
)  # fmt: skip


def fit_width(
    table: pl.DataFrame, width: int, drops: Sequence[str] = NARROW_DROPS
) -> tuple[pl.DataFrame, list[str]]:
    """`table` without the columns it must lose (in `drops` order) for its aligned
    rendering to fit `width` characters; and the columns left out."""
    dropped: list[str] = []
    for column in drops:
        if max(map(len, render(table, "table").splitlines()), default=0) <= width:
            break
        if column in table.columns:
            table = table.drop(column)
            dropped.append(column)
    return table, dropped


def write(table: pl.DataFrame, fmt: str, out: Path | None, force: bool = False) -> str | None:
    """Write to `out` (atomically, never over an existing file unless `force`) or return the text."""
    from inspector.files import write_new

    if out is None:
        if fmt == "parquet":
            raise TasksError("--format parquet needs --out FILE")
        return render(table, fmt)
    if fmt == "parquet":
        write_new(out, table.write_parquet, force)
    else:
        text = render(table, fmt)
        write_new(out, lambda tmp: tmp.write_text(text), force)
    return None


def param_count(n: int | None) -> str:
    """A parameter count as people write it: 135M, 1.7B, 70B (`?` when unknown)."""
    if not n:
        return "?"
    if n >= 1e9:
        return f"{n / 1e9:.2g}B" if n < 1e10 else f"{n / 1e9:.0f}B"
    if n >= 1e6:
        return f"{n / 1e6:.0f}M"
    return f"{n / 1e3:.0f}K" if n >= 1e3 else str(n)


def plot(table: pl.DataFrame, width: int = 80, height: int = 20) -> str:
    """Loss against model size per task (several models), or each task's contribution (one)."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    draw_plot(plt, table)
    return str(plt.build())


def draw_plot(plt: Any, table: pl.DataFrame) -> None:
    """Draw `plot`'s chart on a plotext figure `plt` (the module, or a widget's figure),
    sized by its owner. Model sizes on a log axis labelled 135M, 1.7B; values rounded as the
    tables print them, so floating-point noise in the last digits (thread count, BLAS) cannot
    move the axis labels between two runs of the same table."""
    models = table.select("model", "n_params").unique(maintain_order=True)
    rows = table.filter(pl.col("task") != "all") if "task" in table.columns else table
    if models.height < 2:
        plt.bar(
            [visible.line(t) for t in rows["task"]],
            [round(v, 4) for v in rows["loss_contribution"].to_list()],
        )
        plt.title("loss contribution per task (nats/token)")
        return
    sizes = sorted({n for n in rows["n_params"].to_list() if n})
    for task in rows["task"].unique(maintain_order=True).to_list():
        part = rows.filter((pl.col("task") == task) & (pl.col("n_params") > 0)).sort("n_params")
        plt.plot(
            [math.log10(n) for n in part["n_params"].to_list()],
            [round(v, 4) for v in part["mean_nll"].to_list()],
            label=visible.line(task),
            marker="dot",
        )
    plt.xticks([math.log10(n) for n in sizes], [param_count(n) for n in sizes])
    plt.xlabel("parameters (log scale)")
    plt.ylabel("mean loss (nats)")
    plt.title("per-task loss against model size")


def strip_colour(text: str) -> str:
    """Plain text of a plot, for output that is not a terminal."""
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)
