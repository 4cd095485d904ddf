"""The per-task chart as an image (matplotlib): each task's loss contribution for one run, or
mean loss per task against model size (log axis) for several; with the run settings in its
caption and in the file's metadata. For papers (`tasks --plot FILE.svg|png`) and for the HTML
page (inline SVG, text kept as text)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from inspector import visible
from inspector.tables.plot import chart_title, loss_label, run_axis


def _figure(table: pl.DataFrame, caption: Sequence[str]) -> object:
    import matplotlib

    matplotlib.use("Agg")  # no display, no window: a file
    import matplotlib.pyplot as plt

    rows = table.filter(pl.col("task") != "all") if "task" in table.columns else table
    models = (
        table.select("model", "n_params").unique(maintain_order=True)
        if "model" in table.columns
        else None
    )
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=150, layout="constrained")
    if models is None or models.height < 2:
        tasks = [visible.line(t) for t in rows["task"]]
        ax.barh(tasks[::-1], rows["loss_contribution"].to_list()[::-1], color="#4c72b0")
        ax.set_xlabel("loss contribution (nats per token; the bars add up to the mean loss)")
        ax.set_title("loss contribution per task")
    else:
        xs, ticks, name = run_axis(table) or ([], [], "")
        at = dict(zip(table["model"].unique(maintain_order=True).to_list(), xs, strict=True))
        for task in rows["task"].unique(maintain_order=True).to_list():
            part = rows.filter(pl.col("task") == task)
            points = sorted(
                zip([at[m] for m in part["model"]], part["mean_nll"].to_list(), strict=True)
            )
            ax.plot([x for x, _ in points], [v for _, v in points], marker="o",
                    label=visible.line(task))  # fmt: skip
        ax.set_xticks(xs, ticks)  # log10 of the sizes already, or one place per run
        ax.minorticks_off()
        ax.set_xlabel(name)
        ax.set_ylabel(loss_label(table))
        ax.set_title(chart_title(table))
        ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.text(0.01, -0.02, "\n".join(visible.line(c) for c in caption), fontsize=7, va="top",
             color="#555555", transform=fig.transFigure)  # fmt: skip
    return fig


def save_figure(
    table: pl.DataFrame, path: Path, caption: Sequence[str], suffix: str | None = None,
    figure: Callable[[pl.DataFrame, Sequence[str]], object] | None = None,
    title: str = "inspector: loss by task",
) -> None:  # fmt: skip
    """The chart as `path` (.svg or .png by `suffix`, else its extension), the caption also
    in its metadata; `figure` draws another chart than the per-task one."""
    import matplotlib.pyplot as plt

    fig = (figure or _figure)(table, caption)
    description = "\n".join(caption)
    fmt = (suffix or path.suffix).lower().lstrip(".")
    meta = {"Title": title, "Description": description}
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata=meta, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    path.write_bytes(buffer.getvalue())


def svg(table: pl.DataFrame, caption: Sequence[str]) -> str:
    """The chart as SVG text to inline in a page (its text as text, so the page's fonts and
    a screen reader read it)."""
    import matplotlib
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": "sans-serif"}):
        fig = _figure(table, caption)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # without the XML prologue and doctype


def fit_figure(table: pl.DataFrame, caption: Sequence[str], fits: pl.DataFrame) -> object:
    """Two panels for `tasks --fit --plot FILE`: each task's mean loss against size as
    points with its fitted curve (`tables/scaling.py`), and below, per task, exact match of
    words (solid) and top-1 accuracy of targets (dashed), so a loss that falls smoothly
    while exact match jumps shows as such."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from inspector.tables.scaling import curve

    rows = table.filter(pl.col("task") != "all")
    xs, ticks, name = run_axis(table) or ([], [], "")
    at = dict(zip(table["model"].unique(maintain_order=True).to_list(), xs, strict=True))
    fitted = {r["task"]: r for r in fits.iter_rows(named=True)}
    fig, (loss, accuracy) = plt.subplots(
        2, 1, figsize=(7.5, 7.0), dpi=150, layout="constrained", sharex=True
    )
    dense = np.linspace(min(xs), max(xs), 100)
    for i, task in enumerate(rows["task"].unique(maintain_order=True).to_list()):
        colour = f"C{i}"
        part = (
            rows.filter(pl.col("task") == task)
            .with_columns(pl.col("model").replace_strict(at, return_dtype=pl.Float64).alias("_x"))
            .sort("_x")
        )
        label = visible.line(task)
        loss.plot(part["_x"], part["mean_nll"], "o", color=colour, label=label)
        if task in fitted:
            loss.plot(dense, curve(fitted[task], 10**dense), "-", color=colour, alpha=0.8)
        accuracy.plot(part["_x"], part["word_exact_match"], "o-", color=colour, label=label)
        accuracy.plot(part["_x"], part["top1_accuracy"], "s--", color=colour, alpha=0.6,
                      markersize=3)  # fmt: skip
    loss.set_ylabel(loss_label(table))
    loss.set_title("per-task loss against size: runs (points) and fits (lines)")
    loss.legend(fontsize="small")
    accuracy.set_ylabel("share")
    accuracy.set_ylim(0, 1)
    accuracy.set_title("exact match of words (solid) and top-1 accuracy of targets (dashed)")
    accuracy.set_xticks(xs, ticks)
    accuracy.minorticks_off()
    accuracy.set_xlabel(name)
    for ax in (loss, accuracy):
        ax.grid(alpha=0.3)
    fig.text(0.01, -0.02, "\n".join(visible.line(c) for c in caption), fontsize=7, va="top",
             color="#555555", transform=fig.transFigure)  # fmt: skip
    return fig
