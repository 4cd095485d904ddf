"""The per-task layer table (`run/layers.py`) as people read it: one row per layer and one
column per task, a line per task saying where its targets settle, and the chart (one line
per task against the layer, in the terminal or as an image)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from inspector import visible

METRICS = {
    "settled_share": "share of targets settled (top-1 from this layer to the last)",
    "top1_share": "share of targets top-1 through the lens",
    "mean_nll": "mean loss through the lens (nats)",
}


def by_layer(table: pl.DataFrame, metric: str) -> pl.DataFrame:
    """`metric` with a row per layer and a column per task (in the table's order, `all` last)."""
    tasks = table["task"].unique(maintain_order=True).to_list()
    wide = table.pivot(on="task", index="layer", values=metric, aggregate_function="first")
    return wide.select("layer", *tasks).sort("layer")


def settling(table: pl.DataFrame) -> list[str]:
    """Per task, of the targets the model gets right (top-1 at the last layer), the layer by
    which half of them, and 90%, are settled (top-1 from there on): "grammar (1,357 targets,
    48% top-1): half of those settled by layer 18 of 30, 90% by layer 27"."""
    layers = int(table["layer"].cast(pl.Int64).max() or 0)  # type: ignore[arg-type]
    lines = []
    for task in table["task"].unique(maintain_order=True).to_list():
        part = table.filter(pl.col("task") == task).sort("layer")
        shares, at_layer = part["settled_share"].to_list(), part["layer"].to_list()
        right = shares[-1] if shares else 0.0
        head = f"{visible.line(task)} ({part['tokens'][0]:,} targets, {right:.0%} top-1)"
        if right == 0:
            lines.append(f"{head}: none is predicted at the last layer")
            continue
        half, most = (_first(at_layer, shares, f * right) for f in (0.5, 0.9))
        lines.append(
            f"{head}: half of those settled by layer {half} of {layers}, 90% by layer {most}"
        )
    return lines


def _first(layers: list[int], shares: list[float], at_least: float) -> int:
    return next(lyr for lyr, s in zip(layers, shares, strict=True) if s >= at_least - 1e-12)


def draw_layers(plt: Any, table: pl.DataFrame, metric: str) -> None:
    """`metric` against the layer, one line per task, on a plotext figure."""
    from inspector.tables.plot import SERIES_COLOURS

    tasks = table["task"].unique(maintain_order=True).to_list()
    for i, task in enumerate(tasks):
        part = table.filter(pl.col("task") == task).sort("layer")
        plt.plot(part["layer"].to_list(), [round(v, 4) for v in part[metric].to_list()],
                 label=visible.line(task), marker="dot",
                 color=SERIES_COLOURS[i % len(SERIES_COLOURS)])  # fmt: skip
    last = int(table["layer"].cast(pl.Int64).max() or 1)  # type: ignore[arg-type]
    step = max(1, round(last / 6 / 5) * 5) if last > 10 else 1
    plt.xticks([1, *range(step, last + 1, step)] if step > 1 else list(range(1, last + 1)))
    plt.xlabel("layer")
    plt.ylabel(metric)
    plt.title(f"by layer: {METRICS[metric]}")


def plot_layers(table: pl.DataFrame, metric: str, width: int = 80, height: int = 20) -> str:
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    draw_layers(plt, table, metric)
    return str(plt.build())


def layer_figure(table: pl.DataFrame, caption: Sequence[str], metric: str) -> object:
    """The chart as a matplotlib figure, the run's settings in its caption."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=150, layout="constrained")
    for task in table["task"].unique(maintain_order=True).to_list():
        part = table.filter(pl.col("task") == task).sort("layer")
        ax.plot(part["layer"].to_list(), part[metric].to_list(), marker="o", markersize=3,
                label=visible.line(task), linestyle="--" if task == "all" else "-")  # fmt: skip
    ax.set_xlabel("layer")
    ax.set_ylabel(metric)
    ax.set_title(f"by layer: {METRICS[metric]}")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.text(0.01, -0.02, "\n".join(visible.line(c) for c in caption), fontsize=7, va="top",
             color="#555555", transform=fig.transFigure)  # fmt: skip
    return fig
