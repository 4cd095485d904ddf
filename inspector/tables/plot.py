"""The per-task chart: each task's loss contribution (one run), or mean loss per task against
model size (several), drawn by plotext."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from inspector import visible
from inspector.tables.render import param_count


def plot(
    table: pl.DataFrame, width: int = 80, height: int = 20, fits: pl.DataFrame | None = None
) -> str:
    """Loss against model size per task (several models), or each task's contribution (one);
    with `fits` (`tables/scaling.fit_tasks`), the fitted curves through the points and
    below them a panel of each task's exact match of words."""
    import plotext as plt

    plt.clear_figure()
    plt.theme("clear")
    if fits is None or run_axis(table) is None:
        plt.plotsize(width, height)
        draw_plot(plt, table)
    else:
        plt.plotsize(width, 2 * height)
        plt.subplots(2, 1)
        plt.subplot(1, 1).theme("clear")
        draw_fits(plt.subplot(1, 1), table, fits)
        plt.subplot(2, 1).theme("clear")
        draw_metric(plt.subplot(2, 1), table, "word_exact_match")
    return str(plt.build())


LOSS_UNITS = {  # a chart's loss: the per-task table's column, the axis's name
    "token": ("mean_nll", "loss (nats/token)"),
    "byte": ("bits_per_byte", "loss (bits/byte)"),
    "word": ("nats_per_word", "loss (nats/word)"),
}


def in_unit(table: pl.DataFrame, unit: str) -> pl.DataFrame:
    """A per-task table whose `mean_nll` is the loss in `unit` (`LOSS_UNITS`), named in its
    `loss_unit` column: what the charts draw (runs of other tokenizers: per byte)."""
    column, name = LOSS_UNITS[unit]
    return table.with_columns(pl.col(column).alias("mean_nll"), pl.lit(name).alias("loss_unit"))


def legend_room(plt: Any, xs: list[float], tasks: list[str]) -> None:
    """Room left of the first run for plotext's legend, which it draws over the plot's top
    left corner, where the smallest run's (highest) losses are: the x axis starts early by
    the legend's width (its longest task and the marker) of a plot about 70 cells wide."""
    if not xs or not tasks:
        return
    legend = max(len(visible.line(t)) for t in tasks) + 5
    lo, hi = min(xs), max(xs)
    span = (hi - lo) or 1.0
    plt.xlim(lo - span * legend / max(70 - legend, 20), hi + span * 0.02)


def loss_label(table: pl.DataFrame) -> str:
    """The loss axis's name: the table's `loss_unit`, else nats per token."""
    return str(table["loss_unit"][0]) if "loss_unit" in table.columns else LOSS_UNITS["token"][1]


# one colour per series of a terminal chart (the plain theme draws every line alike)
SERIES_COLOURS = ("blue", "red", "green", "orange", "magenta", "cyan", "gray", "yellow")


def run_axis(table: pl.DataFrame) -> tuple[list[float], list[str], str] | None:
    """Where each run of a per-task table goes on the chart's x axis, its tick labels and
    the axis's name: model size on a log axis when every run is a model of its own size;
    else (runs of one model with another window or dtype) one place per run, in the
    table's order, named by what tells it from the others. None for a single run."""
    models = table.select("model", "n_params").unique(maintain_order=True)
    if models.height < 2:
        return None
    sizes = models["n_params"].to_list()
    if all(sizes) and len(set(sizes)) == len(sizes):
        given = "size_axis" in table.columns  # sizes given per run (`tasks --sizes`)
        return (
            [math.log10(n) for n in sizes],
            [param_count(n) for n in sizes],
            f"{table['size_axis'][0] if given else 'parameters'} (log scale)",
        )
    names = [visible.line(m) for m in models["model"].to_list()]
    prefix = _common_prefix(names)
    ticks = [n[len(prefix) :].strip(" ()#") or n for n in names] if len(prefix) > 1 else names
    return [float(i) for i in range(len(names))], ticks, "run (as in the table)"


def _common_prefix(names: list[str]) -> str:
    prefix = names[0]
    for name in names[1:]:
        while not name.startswith(prefix):
            prefix = prefix[:-1]
    if " (" in prefix:  # one model's runs: `name (window 16, …)` — the settings tell them apart
        return prefix[: prefix.rindex(" (") + 2]
    return prefix[: prefix.rfind(" ") + 1] if " " in prefix else prefix  # whole words


def draw_plot(plt: Any, table: pl.DataFrame) -> None:
    """Draw `plot`'s chart on a plotext figure `plt` (the module, or a widget's figure),
    sized by its owner. Model sizes on a log axis labelled 135M, 1.7B; values rounded as the
    tables print them, so floating-point noise in the last digits (thread count, BLAS) cannot
    move the axis labels between two runs of the same table."""
    rows = table.filter(pl.col("task") != "all") if "task" in table.columns else table
    axis = run_axis(table)
    if axis is None:
        plt.bar(
            [visible.line(t) for t in rows["task"]],
            [round(v, 4) for v in rows["loss_contribution"].to_list()],
        )
        plt.title("loss contribution per task (nats/token)")
        return
    xs, ticks, name = axis
    at = dict(zip(table["model"].unique(maintain_order=True).to_list(), xs, strict=True))
    tasks = rows["task"].unique(maintain_order=True).to_list()
    legend_room(plt, xs, tasks)
    for i, task in enumerate(tasks):
        part = rows.filter(pl.col("task") == task)
        points = sorted(
            zip([at[m] for m in part["model"]], part["mean_nll"].to_list(), strict=True)
        )
        plt.plot([x for x, _ in points], [round(v, 4) for _, v in points],
                 label=visible.line(task), marker="dot",
                 color=SERIES_COLOURS[i % len(SERIES_COLOURS)])  # fmt: skip
    plt.xticks(xs, ticks)
    plt.xlabel(name)
    plt.ylabel(loss_label(table))
    plt.title(chart_title(table))


def _series(table: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, float], list[str]]:
    """The rows of the tasks (not `all`), each run's place on the x axis, the tasks."""
    rows = table.filter(pl.col("task") != "all")
    xs = run_axis(table)[0]  # type: ignore[index]
    at = dict(zip(table["model"].unique(maintain_order=True).to_list(), xs, strict=True))
    return rows, at, rows["task"].unique(maintain_order=True).to_list()


def draw_fits(plt: Any, table: pl.DataFrame, fits: pl.DataFrame) -> None:
    """Each task's mean loss against size as points, its fitted curve through them."""
    import numpy as np

    from inspector.tables.scaling import curve

    rows, at, tasks = _series(table)
    xs, ticks, name = run_axis(table)  # type: ignore[misc]
    fitted = {r["task"]: r for r in fits.iter_rows(named=True)}
    dense = np.linspace(min(xs), max(xs), 60)
    legend_room(plt, xs, tasks)
    for i, task in enumerate(tasks):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        part = rows.filter(pl.col("task") == task)
        plt.scatter([at[m] for m in part["model"]], [round(v, 4) for v in part["mean_nll"]],
                    marker="dot", color=colour, label=visible.line(task))  # fmt: skip
        if task in fitted:
            ys = curve(fitted[task], 10**dense)
            plt.plot(dense.tolist(), [round(float(v), 4) for v in ys], color=colour,
                     marker="braille")  # fmt: skip
    plt.xticks(xs, ticks)
    plt.xlabel(name)
    plt.ylabel(loss_label(table))
    plt.title(f"per-task {loss_label(table)} against size, fitted")


def draw_metric(plt: Any, table: pl.DataFrame, column: str) -> None:
    """Each task's `column` (an accuracy) against size, one line per task."""
    rows, at, tasks = _series(table)
    xs, ticks, name = run_axis(table)  # type: ignore[misc]
    for i, task in enumerate(tasks):
        part = rows.filter(pl.col("task") == task)
        points = sorted(zip([at[m] for m in part["model"]], part[column].to_list(), strict=True))
        plt.plot([x for x, _ in points], [round(v or 0.0, 4) for _, v in points],
                 label=visible.line(task), marker="dot",
                 color=SERIES_COLOURS[i % len(SERIES_COLOURS)])  # fmt: skip
    plt.xticks(xs, ticks)
    plt.xlabel(name)
    legend_room(plt, xs, tasks)
    plt.ylim(0, 1)
    plt.title(METRIC_TITLES[column])


METRIC_TITLES = {
    "word_exact_match": "exact match of words (every piece top-1), by task",
    "top1_accuracy": "top-1 accuracy of targets, by task",
}


def chart_title(table: pl.DataFrame) -> str:
    """The chart's title: what its x axis is."""
    axis = run_axis(table)
    if axis is None:
        return "loss contribution per task"
    return (
        "per-task loss against model size"
        if axis[2].startswith("parameters")
        else "per-task loss by run"
    )


def strip_colour(text: str) -> str:
    """Plain text of a plot, for output that is not a terminal."""
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)
