"""A report computed off the event loop (agreement, per-task loss across models), drawn in a
modal as Textual widgets: notes as text, tables as DataTables, the chart as a plot sized to
its box. Nothing is printed text cut to a width: tables scroll sideways, charts redraw on
resize."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Static

from inspector import visible
from inspector.run.errors import USER_ERRORS
from inspector.tables.plot import chart_title
from inspector.tui.widgets.charts import BarChart, LayerChart, LineChart


@dataclass
class Note:
    """Lines of plain text (user text in them is escaped when drawn)."""

    text: str


@dataclass
class Table:
    """A table under a caption; cells printed as the CLI's text tables print them."""

    caption: str
    frame: pl.DataFrame
    # a long form for a screen too narrow for `frame`: its first `frozen` columns stay in view
    narrow: pl.DataFrame | None = None
    frozen: int = 2
    narrow_caption: str = ""  # the long form's caption, where it says more


@dataclass
class Chart:
    """The per-task chart of a `tasks.compare` table: bars of each task's loss
    contribution for one run, lines of mean loss against model size for several; with
    `kind` "layers", a `run_layers` table's per-task curves by layer."""

    table: pl.DataFrame
    kind: str = "tasks"  # "tasks", "layers", "fits" (with `fits`), or a metric to draw by size
    fits: pl.DataFrame | None = None
    beside: Chart | None = None  # drawn to its right where the screen is wide, else below


@dataclass
class Report:
    """What a report screen shows, top to bottom."""

    parts: Sequence[Note | Table | Chart] = field(default_factory=list)
    catalog: Any = None  # the runs it could show (`run/runsets.Catalog`), where D chooses
    chosen: list[str] = field(default_factory=list)  # the cache keys of those it shows

    def text(self) -> str:
        """Everything in it as plain text (for tests and logs)."""
        out = []
        for part in self.parts:
            if isinstance(part, Note):
                out.append(part.text)
            elif isinstance(part, Table):
                from inspector.tables.render import render

                out.append(f"{part.caption}\n{render(part.frame, 'table')}")
            elif part.kind == "layers":
                out.append("chart: by layer: the share of each task's targets settled")
            elif part.kind == "fits":
                unit = part.table["loss_unit"][0] if "loss_unit" in part.table.columns else ""
                out.append(f"chart: per-task {unit or 'loss'} against size, fitted")
                if part.beside is not None:
                    from inspector.tables.plot import METRIC_TITLES

                    out.append(f"chart: {METRIC_TITLES[part.beside.kind]}")
            elif part.kind != "tasks":
                from inspector.tables.plot import METRIC_TITLES

                out.append(f"chart: {METRIC_TITLES[part.kind]}")
            else:
                out.append(f"chart: {chart_title(part.table)}")
        return "\n\n".join(out)


class ReportScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    ReportScreen { align: center middle; }
    ReportScreen > VerticalScroll { width: 95%; height: 90%; border: round $primary;
        background: $surface; padding: 0 1; }
    ReportScreen .caption { margin-top: 1; text-style: bold; }
    ReportScreen DataTable { height: auto; width: 100%; }
    ReportScreen LineChart { height: 20; margin-top: 1; }
    ReportScreen LayerChart { height: 20; margin-top: 1; }
    ReportScreen BarChart { margin-top: 1; }
    ReportScreen Horizontal.pair { height: 21; }
    ReportScreen Horizontal.pair LineChart { width: 1fr; }
    """
    BINDINGS = [
        Binding("escape,q", "dismiss", "close"),
        # the whole report pages, not a table's rows: below the tables is the chart
        Binding("pagedown", "page(1)", "scroll down", priority=True),
        Binding("pageup", "page(-1)", "scroll up", priority=True),
        Binding("end,ctrl+end", "edge(1)", "bottom", priority=True),
        Binding("home,ctrl+home", "edge(-1)", "top", priority=True),
        Binding("D", "choose", "choose runs"),
    ]

    @dataclass
    class Ready(Message):
        """The computed report."""

        report: Report

    def __init__(
        self, title: str, compute: Callable[[], Report], waiting: str = "computing…"
    ) -> None:
        super().__init__()
        self.title_text, self.compute_report, self.waiting = title, compute, waiting
        self.report: Report | None = None

    @property
    def shown(self) -> str | None:
        """The report as plain text once it is drawn (None while computing)."""
        return None if self.report is None else self.report.text()

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="report-box") as box:
            box.border_title = Text(visible.line(self.title_text))  # never markup
            yield Static(Text(self.waiting, style="dim"), id="report-wait")
        yield Footer(compact=True)  # this screen's keys, not the text's

    def on_mount(self) -> None:
        self.compute()

    @work(thread=True, exclusive=True, exit_on_error=False, group="report")
    def compute(self) -> None:
        try:
            report = self.compute_report()
        except USER_ERRORS as e:
            report = Report([Note(f"cannot compute this: {e}")])
        self.post_message(self.Ready(report))

    async def on_report_screen_ready(self, message: ReportScreen.Ready) -> None:
        box = self.query_one("#report-box", VerticalScroll)
        await box.remove_children()
        width = box.scrollable_content_region.width
        await box.mount_all([w for part in message.report.parts for w in _widgets(part, width)])
        self.report = message.report
        self.refresh_bindings()  # D, where it chooses runs
        tables = self.query(DataTable)
        if tables:
            tables.first().focus(scroll_visible=False)  # arrows move in it at once; Tab: the next

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """D only where the report is of runs (the `s` screen, once computed)."""
        if action == "choose":
            return self.report is not None and self.report.catalog is not None
        return True

    def action_choose(self) -> None:
        """D: choose the runs this report compares (the app's one run set for the corpus)."""
        report = self.report
        if report is None or report.catalog is None:
            self.notify("this report has no runs to choose", severity="warning", markup=False)
            return
        if len(report.catalog.entries) < 2:
            self.notify(markup=False, severity="warning",
                        message="only one run of this corpus is in the cache")  # fmt: skip
            return
        from inspector.tui.screens.pick_runs import PickRunsScreen

        def picked(keys: list[str] | None) -> None:
            if keys is None:
                return
            chosen = getattr(self.app, "runs_chosen", None)
            if chosen is not None:
                chosen(keys)
            self.call_later(self.recompute)

        self.app.push_screen(PickRunsScreen(report.catalog, report.chosen, least=1), picked)

    async def recompute(self) -> None:
        """Compute the report again (the chosen runs changed)."""
        self.report = None
        box = self.query_one("#report-box", VerticalScroll)
        await box.remove_children()
        await box.mount(Static(Text(self.waiting, style="dim"), id="report-wait"))
        self.compute()

    def action_page(self, direction: int) -> None:
        """A page of the table in focus while it has rows out of view that way (its header
        stays in view), else of the report."""
        grid = self.focused
        if isinstance(grid, DataTable) and grid.max_scroll_y > 0:
            rows_left = grid.scroll_y < grid.max_scroll_y if direction > 0 else grid.scroll_y > 0
            if rows_left:
                (grid.action_page_down if direction > 0 else grid.action_page_up)()
                return
        box = self.query_one("#report-box", VerticalScroll)
        (box.scroll_page_down if direction > 0 else box.scroll_page_up)(animate=False)

    def action_edge(self, direction: int) -> None:
        """End: the report's bottom and every table's last row (a table taller than the
        frame scrolls in itself); Home: the top and first rows."""
        for grid in self.query(DataTable):
            grid.move_cursor(row=max(grid.row_count - 1, 0) if direction > 0 else 0)
        box = self.query_one("#report-box", VerticalScroll)
        (box.scroll_end if direction > 0 else box.scroll_home)(animate=False)

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(result)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a task's row: its highest-loss targets in context (the app's `z`)."""
        frame = getattr(event.data_table, "frame", None)
        if frame is None or "task" not in frame.columns:
            return
        task = frame["task"][event.cursor_row]
        examples = getattr(self.app, "action_examples", None)
        if task and task != "all" and examples is not None:
            self.dismiss()
            self.app.call_later(examples, str(task))


FIXED_MOST = 20  # cells: a first column wider than this scrolls with the rest


class ReportTable(DataTable[Text]):
    """A report's table: the first column (what each row is) stays while the rest scroll
    sideways, and left/right move a whole column at a time, not one cell of text. Its
    caption says on which side columns are out of view (a column cut at the edge shows
    only its first cells, which read as a wrong number without the hint)."""

    def __init__(self, caption: Static, caption_text: str, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.caption, self.caption_text = caption, caption_text

    def out_of_view(self) -> str:
        """ "←", "→", "←→" for the sides with columns out of view; "" when all fit."""
        left = "←" if self.scroll_x > 0 else ""
        return left + ("→" if round(self.scroll_x) < self.max_scroll_x else "")

    def _say_out_of_view(self) -> None:
        arrows = self.out_of_view()
        more = Text(f"  ({arrows} more columns)" if arrows else "", style="dim")
        self.caption.update(Text(self.caption_text) + more)

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_x(old_value, new_value)
        self._say_out_of_view()

    def on_resize(self) -> None:
        self.call_after_refresh(self._say_out_of_view)

    def _column_starts(self) -> list[int]:
        starts, x = [], 0
        for column in self.ordered_columns[self.fixed_columns :]:
            starts.append(x)
            x += column.get_render_width(self)
        return starts

    def action_cursor_right(self) -> None:
        later = [x for x in self._column_starts() if x > self.scroll_x]
        self.scroll_to(x=min(later[0], self.max_scroll_x) if later else self.max_scroll_x,
                       animate=False)  # fmt: skip

    def action_cursor_left(self) -> None:
        earlier = [x for x in self._column_starts() if x < self.scroll_x]
        self.scroll_to(x=earlier[-1] if earlier else 0, animate=False)


SIDE_BY_SIDE = 150  # cells: a chart with another beside it from this width, else stacked


def _widgets(part: Note | Table | Chart, width: int = 200) -> list[Widget]:
    if isinstance(part, Note):
        return [Static(Text(visible.text(part.text)))]
    if isinstance(part, Chart):
        return _chart_widgets(part, width)
    frame, frozen, caption = part.frame, 1, part.caption
    if part.narrow is not None and _table_width(frame) > width:  # the long form, first columns kept
        frame, frozen, caption = part.narrow, part.frozen, part.narrow_caption or caption
    return _table_widgets(caption, frame, frozen)


def _chart_widgets(part: Chart, width: int) -> list[Widget]:
    if part.kind == "layers":
        return [LayerChart(part.table)]
    if part.kind != "tasks":
        chart = LineChart(part.table, part.fits, None if part.kind == "fits" else part.kind)
        if part.beside is None:
            return [chart]
        other = _chart_widgets(part.beside, width)
        return (
            [Horizontal(chart, *other, classes="pair")]
            if width >= SIDE_BY_SIDE
            else [chart, *other]
        )
    several = part.table.select("model").n_unique() > 1
    return [LineChart(part.table) if several else BarChart(part.table)]


def _table_width(frame: pl.DataFrame) -> int:
    """Cells a table takes in a DataTable: each column its widest cell and a cell of padding
    either side."""
    from inspector.tables.render import column_cells

    rows = column_cells(frame)
    return sum(max([len(c), *(len(r[i]) for r in rows)]) + 2 for i, c in enumerate(frame.columns))


def _table_widgets(caption_text: str, frame: pl.DataFrame, frozen: int) -> list[Widget]:
    from inspector.tables.render import column_cells

    header = [visible.line(c) for c in frame.columns]
    rows = [[visible.line(v) for v in row] for row in column_cells(frame)]  # as the CLI's tables
    first = max([len(header[0]), *(len(r[0]) for r in rows)]) if header else 0
    # the rows' names stay in view while the rest scroll, where they are short enough to
    caption_text = visible.line(caption_text)
    caption = Static(Text(caption_text), classes="caption")
    grid = ReportTable(
        caption,
        caption_text,
        zebra_stripes=True,
        cursor_type="row",
        fixed_columns=frozen if frozen > 1 else int(first <= FIXED_MOST),
    )
    grid.frame = frame  # type: ignore[attr-defined]  # Enter on a row reads its task
    # numbers right-aligned to their column's width (a DataTable sizes columns to content)
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    numeric = [frame.schema[c].is_numeric() for c in frame.columns]
    for name, width, num in zip(header, widths, numeric, strict=True):
        grid.add_column(Text(name.rjust(width) if num else name))
    for row in rows:
        grid.add_row(
            *(
                Text(v.rjust(w) if num else v)
                for v, w, num in zip(row, widths, numeric, strict=True)
            )
        )
    return [caption, grid]
