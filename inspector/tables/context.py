"""The per-task context table (`run/context.py`) as a chart: per task, the share of the
attribution mass within d tokens back, against d on a log axis (in the terminal or as an
image)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl

from inspector import visible

WITHIN = (1, 4, 16, 64)


def _curves(table: pl.DataFrame) -> list[tuple[str, list[float]]]:
    return [
        (visible.line(row["task"]), [row[f"share_within_{d}"] or 0.0 for d in WITHIN])
        for row in table.iter_rows(named=True)
    ]


def draw_context(plt: Any, table: pl.DataFrame) -> None:
    """Share of the attribution within d tokens, per task, on a plotext figure."""
    from inspector.tables.plot import SERIES_COLOURS

    xs = [math.log2(d) for d in WITHIN]
    for i, (task, shares) in enumerate(_curves(table)):
        plt.plot(xs, [round(s, 4) for s in shares], label=task, marker="dot",
                 color=SERIES_COLOURS[i % len(SERIES_COLOURS)])  # fmt: skip
    plt.xticks(xs, [str(d) for d in WITHIN])
    plt.xlabel("tokens back (log scale)")
    plt.ylabel("share of attribution")
    plt.title("how far back each task's predictions lean")


def plot_context(table: pl.DataFrame, width: int = 80, height: int = 20) -> str:
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    draw_context(plt, table)
    return str(plt.build())


def context_figure(table: pl.DataFrame, caption: Sequence[str]) -> object:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=150, layout="constrained")
    for task, shares in _curves(table):
        ax.plot(WITHIN, shares, marker="o", label=task, linestyle="--" if task == "all" else "-")
    ax.set_xscale("log", base=2)
    ax.set_xticks(WITHIN, [str(d) for d in WITHIN])
    ax.minorticks_off()
    ax.set_ylim(0, 1)
    ax.set_xlabel("tokens back (log scale)")
    ax.set_ylabel("share of |attribution| within")
    ax.set_title("how far back each task's predictions lean")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.text(0.01, -0.02, "\n".join(visible.line(c) for c in caption), fontsize=7, va="top",
             color="#555555", transform=fig.transFigure)  # fmt: skip
    return fig
