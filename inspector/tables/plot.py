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
