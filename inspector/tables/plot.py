"""The per-task chart: each task's loss contribution (one run), or mean loss per task against
model size (several), drawn by plotext."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from inspector import visible
from inspector.tables.render import param_count


def plot(table: pl.DataFrame, width: int = 80, height: int = 20) -> str:
    """Loss against model size per task (several models), or each task's contribution (one)."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    draw_plot(plt, table)
    return str(plt.build())


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
        return (
            [math.log10(n) for n in sizes],
            [param_count(n) for n in sizes],
            "parameters (log scale)",
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
    for i, task in enumerate(rows["task"].unique(maintain_order=True).to_list()):
        part = rows.filter(pl.col("task") == task)
        points = sorted(
            zip([at[m] for m in part["model"]], part["mean_nll"].to_list(), strict=True)
        )
        plt.plot([x for x, _ in points], [round(v, 4) for _, v in points],
                 label=visible.line(task), marker="dot",
                 color=SERIES_COLOURS[i % len(SERIES_COLOURS)])  # fmt: skip
    plt.xticks(xs, ticks)
    plt.xlabel(name)
    plt.ylabel("mean loss (nats)")
    plt.title(chart_title(table))


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
