"""The per-task chart of a report, drawn to the size of its box (redrawn on resize).

One run: a horizontal bar per task of its loss contribution (nats per token of the corpus),
drawn here with block characters, so the same table always gives the same cells. Several
runs: mean loss per task against model size, a plotext line chart (`textual-plotext`) on a
log axis labelled 135M, 1.7B.
"""

from __future__ import annotations

import polars as pl
from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget
from textual_plotext import PlotextPlot

from inspector import visible

EIGHTHS = " ▏▎▍▌▋▊▉█"


class BarChart(Widget):
    """Each task's `loss_contribution` as a bar; the `all` row is the scale's total."""

    DEFAULT_CSS = """
    BarChart { height: auto; width: 100%; }
    """

    def __init__(self, table: pl.DataFrame) -> None:
        super().__init__()
        rows = table.filter(pl.col("task") != "all")
        self.labels = [visible.line(t) for t in rows["task"]]
        self.values = [max(0.0, round(v, 4)) for v in rows["loss_contribution"].fill_null(0)]

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        return len(self.labels) + 1

    def render(self) -> RenderResult:
        out = Text()
        out.append("loss contribution per task (nats per token of the corpus)\n", style="bold")
        name_w = max((len(s) for s in self.labels), default=0)
        values = [f"{v:.3f}" for v in self.values]
        value_w = max((len(s) for s in values), default=0)
        room = max(1, self.size.width - name_w - value_w - 2)
        top = max(self.values, default=0) or 1.0
        for i, (label, value, shown) in enumerate(
            zip(self.labels, self.values, values, strict=True)
        ):
            eighths = round(value / top * room * 8)
            bar = "█" * (eighths // 8) + (EIGHTHS[eighths % 8] if eighths % 8 else "")
            out.append(label.ljust(name_w) + " ")
            out.append(bar.ljust(room), style="cyan")
            out.append(" " + shown.rjust(value_w) + ("\n" if i < len(self.labels) - 1 else ""))
        return out


class LineChart(PlotextPlot):
    """Mean loss per task against model size (`tables/plot.draw_plot`); with `fits`, the
    points and each task's fitted curve (`draw_fits`); with `metric`, that accuracy column
    against size (`draw_metric`)."""

    def __init__(
        self, table: pl.DataFrame, fits: pl.DataFrame | None = None, metric: str | None = None
    ) -> None:
        super().__init__()
        self.table, self.fits, self.metric = table, fits, metric

    def on_mount(self) -> None:
        from inspector.tables.plot import draw_fits, draw_metric, draw_plot

        if self.metric is not None:
            draw_metric(self.plt, self.table, self.metric)
        elif self.fits is not None:
            draw_fits(self.plt, self.table, self.fits)
        else:
            draw_plot(self.plt, self.table)


class LayerChart(PlotextPlot):
    """A per-task curve by layer (`tables.layers.draw_layers`): the share settled."""

    def __init__(self, table: pl.DataFrame, metric: str = "settled_share") -> None:
        super().__init__()
        self.table, self.metric = table, metric

    def on_mount(self) -> None:
        from inspector.tables.layers import draw_layers

        draw_layers(self.plt, self.table, self.metric)
