"""Compare mode: the text coloured by the change in loss between runs, every run's
candidates side by side, jumps to the biggest improvements and regressions and through a
trend class, and the per-task changes beside. The comparison is built off the event loop
(`session/compare.py` holds it); these actions read keys and redraw."""

from __future__ import annotations

from typing import Any

from textual import work

from inspector.run.errors import USER_ERRORS
from inspector.session.compare import CompareView, delta_bucket
from inspector.tui.browsing import BrowsingApp
from inspector.tui.messages import ComparisonFailed, ComparisonReady, RunsFound
from inspector.tui.screens.pick_runs import PickRunsScreen
from inspector.tui.widgets.change_table import ChangeTable
from inspector.tui.widgets.compare_panel import ComparePanel
from inspector.tui.widgets.document_view import DocumentView
from inspector.tui.widgets.legend import Legend
from inspector.tui.widgets.next_token import NextTokenPanel
from inspector.tui.widgets.task_panel import TaskPanel
from inspector.tui.widgets.task_table import TaskTable

ONE_RUN = (
    "only one run of this corpus is in the cache: open it with several models "
    "(inspector browse --model A --model B) or score another (inspector score --model B)"
)


class ComparingApp(BrowsingApp):
    """Browsing, plus comparing runs of the corpus token by token."""

    compare_view: CompareView | None = None
    comparing = False  # compare mode is on
    compare_pending = False  # a comparison is being built

    # -- building ---------------------------------------------------------------------
    def action_compare(self) -> None:
        """Switch compare mode on (the first time: the runs chosen before for this corpus,
        else the chooser) or off."""
        if self.compare_view is None:
            self.action_pick_runs(ask=False)
            return
        self._set_comparing(not self.comparing)

    def action_pick_runs(self, ask: bool = True) -> None:
        """Choose which of this corpus's cached runs to compare (`ask` False: the set chosen
        before, where there is one, without asking)."""
        if self.compare_pending:
            self.notify("the runs are still being compared", timeout=3, markup=False)
            return
        self.compare_pending = True
        self.notify("looking for the runs of this corpus in the cache…", timeout=3, markup=False)
        self._find_cached(ask=ask)

    @work(thread=True, exclusive=True, exit_on_error=False, group="compare")
    def _find_cached(self, keys: list[str] | None = None, ask: bool = True) -> None:
        """The cached runs, then the chooser; with `keys` (chosen already), the comparison."""
        try:
            found = self.run_catalog(whole=True)
        except USER_ERRORS as e:
            self.post_message(ComparisonFailed(str(e)))
            return
        if keys is not None:
            chosen = found.choose(keys, remembered=True)
            self.call_from_thread(self._build, chosen.runs, chosen.names)
            return
        self.post_message(
            RunsFound(found, ask) if len(found.entries) >= 2 else ComparisonFailed(ONE_RUN)
        )

    def run_catalog(self, whole: bool = False) -> Any:
        """The cached runs of this corpus under the app's rules (`run/runsets.py`)."""
        from inspector.run.runsets import catalog
        from taggers.rules import load_rules

        rules_hash = (self.rules or load_rules()).sha256
        return catalog(self.cache_dir, self.corpus_key, rules_hash, whole=whole)

    def browsed_key(self) -> str | None:
        """The browsed run's cache key, once it is scored (its tokenizer is the default's)."""
        from inspector.run.cache import cache_key

        settings = getattr(self, "run_settings", None)
        return cache_key(settings) if settings else None

    def on_runs_found(self, message: RunsFound) -> None:
        found = message.runs
        chosen = found.current(self.cache_dir, self.browsed_key())
        one_pair = len(found.entries) == 2 and not chosen.tokenizers_differ
        if len(chosen.entries) >= 2 and (chosen.remembered or one_pair) and not message.ask:
            self._build(chosen.runs, chosen.names)  # chosen before (D chooses again)
            return

        def picked(keys: list[str] | None) -> None:
            if keys is None:
                self.compare_pending = False
                return
            self.remember_runs(keys)
            picked_set = found.choose(keys, remembered=True)
            self._build(picked_set.runs, picked_set.names)

        self.push_screen(PickRunsScreen(found, chosen.keys), picked)

    def action_tasks_screen(self) -> None:
        """s: loss by task over the chosen runs of this corpus (D there chooses them)."""
        from inspector.tui.reports import tasks_report
        from inspector.tui.screens.report import ReportScreen
        from taggers.rules import load_rules

        rules_hash = (self.rules or load_rules()).sha256
        browsed = self.browsed_key()

        def report() -> Any:
            found = self.run_catalog()
            return tasks_report(found, found.current(self.cache_dir, browsed), self.cache_dir,
                                rules_hash)  # fmt: skip

        self.push_screen(ReportScreen("loss by task, across the chosen runs", report))

    def runs_chosen(self, keys: list[str]) -> None:
        """Runs chosen on the `s` screen: kept for the corpus, and compare mode, if built,
        compares them (two or more) from now on."""
        self.remember_runs(keys)
        if self.compare_view is not None and len(keys) >= 2 and not self.compare_pending:
            self.compare_pending = True
            self._find_cached(keys)

    def remember_runs(self, keys: list[str]) -> None:
        """Keep the chosen runs for this corpus (compare mode, `s` and the fits share them)."""
        from inspector.run.runsets import save_choice

        try:
            save_choice(self.cache_dir, self.corpus_key, keys)
        except OSError as e:
            self.notify(markup=False, severity="warning",
                        message=f"could not remember the chosen runs: {e}")  # fmt: skip

    @work(thread=True, exclusive=True, exit_on_error=False, group="compare")
    def _build(self, runs: list[Any], names: Any = None) -> None:
        from inspector.tables.changes import compare_runs

        try:
            # the browsed run's tokens shape the units, so the text under the cursor is
            # always inside the unit shown (by position where every run shares them)
            comparison = compare_runs(runs, order="given", shape=self._browsed_table())
            view = CompareView(comparison, [d.id for d in self.session.docs], names)
            self.post_message(ComparisonReady(view))
        except USER_ERRORS as e:
            self.post_message(ComparisonFailed(str(e)))

    def _browsed_table(self) -> Any:
        """The browsed run's token table, as far as it is scored (None: nothing yet)."""
        import polars as pl

        tables = self.session.scored_tables()
        columns = ("doc_id", "pos", "token_id", "char_start", "char_end", "word_start", "word_end")
        return pl.concat([t.select(columns) for t in tables]).lazy() if tables else None

    def on_comparison_ready(self, message: ComparisonReady) -> None:
        self.compare_view, self.compare_pending = message.view, False
        view = message.view
        self.notify(markup=False, timeout=5, message=(
            f"comparing {' → '.join(view.names)} by {view.unit}: d switches compare mode off"))  # fmt: skip
        self._set_comparing(True)

    def on_comparison_failed(self, message: ComparisonFailed) -> None:
        self.compare_pending = False
        self.notify(markup=False, message=message.error, title="no comparison",
                    severity="warning", timeout=10)  # fmt: skip

    def _set_comparing(self, on: bool) -> None:
        self.comparing = on and self.compare_view is not None
        # the unit's panel and the change table take the places of the next-token panel, the
        # target's task (the unit's is in its panel) and the per-task losses
        on = self.comparing
        for widget, shown in ((NextTokenPanel, not on), (TaskPanel, not on), (TaskTable, not on),
                              (ComparePanel, on), (ChangeTable, on)):  # fmt: skip
            self.query_one(widget).display = shown
        mode = "change" if self.comparing else "loss"
        self.query_one(DocumentView).set_mode(mode)
        view = self.compare_view
        change = f"{view.names[-1]} - {view.names[0]}" if view is not None else None
        per = "nats per word" if view is not None and view.unit == "word" else "nats"
        self.query_one(Legend).unit = self.query_one(ChangeTable).unit = per
        self.query_one(Legend).show(mode, change, self._browsed() if self.comparing else "")
        self.refresh_bindings()  # the footer lists compare mode's keys
        self.refresh_view(tables=True)

    def footer_shows(self, action: str) -> bool:
        """In compare mode the footer lists its keys (d, i, r) in place of the task and
        loss jumps and search, which still work; out of it, not them."""
        name = action.partition("(")[0]
        if name in ("compare", "changed"):
            return self.comparing and getattr(self, "mode", "browse") != "annotate"
        if self.comparing and name in ("pick_task", "jump", "search"):
            return False
        return super().footer_shows(action)

    def _browsed(self) -> str:
        """The compared run whose rows are browsed (whose loss and rank `c` shows), by its
        label; "the browsed run" when it is none of them."""
        view = self.compare_view
        mine = getattr(self, "run_settings", None) or {}
        keys = ("model_identity", "dtype", "window", "top_k")
        if view is not None:
            for name, run in zip(view.names, view.comparison.runs, strict=True):
                if all(run.settings.get(k) == mine.get(k) for k in keys):
                    return name
        return "the browsed run"

    # -- drawing ------------------------------------------------------------------------
    def refresh_compare(self, tables: bool) -> None:
        """Compare mode's part of a redraw: colours, the unit's panel, the change tables."""
        view, s = self.compare_view, self.session
        if view is None or not self.comparing:
            return
        rows, doc_id = s.current, s.document.id
        if rows is None:
            self.query_one(ComparePanel).show(None, [], [], "not scored yet")
            return
        document = self.query_one(DocumentView)
        document.set_change(delta_bucket(view.deltas(doc_id, rows)))
        unit = view.unit_at(doc_id, rows, s.pos)
        candidates = view.candidates(doc_id, unit) if unit is not None else []
        self.query_one(ComparePanel).show(unit, list(view.names), candidates)
        if tables:
            c = view.comparison
            trends = c.trends(doc_id), view.corpus_trends
            self.query_one(ChangeTable).show(
                c.changes(doc_id),
                view.corpus_changes,
                trends if trends[1] is not None else None,  # type: ignore[arg-type]
            )

    def action_change_page(self) -> None:
        if self._compare_ready() is not None:
            self.query_one(ChangeTable).turn()

    # -- jumps --------------------------------------------------------------------------
    def _compare_ready(self) -> CompareView | None:
        if self.compare_view is None or not self.comparing:
            self.notify("press d to compare runs first", severity="warning", markup=False)
            return None
        return self.compare_view

    def action_changed(self, kind: str, direction: int) -> None:
        """The next (or previous) biggest improvement or regression in the corpus."""
        view = self._compare_ready()
        if view is None:
            return
        hit = view.ranked(kind, direction)
        if hit is None:
            said = f"no more {kind}s" if direction > 0 else f"no bigger {kind} before this one"
            self.notify(said, timeout=2, markup=False)
            return
        step, total = view.rank_of(kind)
        self.notify(markup=False, timeout=2, message=(
            f"{kind} {step} of {total:,} (every {'fall' if kind == 'improvement' else 'rise'} "
            "in loss, biggest first)"))  # fmt: skip
        self._go_unit(*hit)

    def action_pick_trend(self) -> None:
        view = self._compare_ready()
        if view is None:
            return
        if not view.trends:
            self.notify("trends need three runs or more", severity="warning", markup=False)
            return
        options = [*view.trends, None]
        now = view.trend_filter
        view.trend_filter = (
            options[(options.index(now) + 1) % len(options)] if now in options else options[0]
        )
        self.refresh_status()  # the status line says it (`e:trend=emergent`): no toast over it

    def action_trend(self, direction: int) -> None:
        view = self._compare_ready()
        if view is None:
            return
        if view.trend_filter is None:
            self.notify("press y to choose a trend first", severity="warning", markup=False)
            return
        s = self.session
        rows = s.current
        here = view.unit_near(s.document.id, rows, s.pos) if rows is not None else -1
        hit = view.next_trend(s.doc, here, direction)
        if hit is None:
            self.notify(f"no more {view.trend_filter} units", timeout=2, markup=False)
            return
        self._go_unit(*hit)

    def _go_unit(self, doc_id: str, unit_pos: int) -> None:
        view, s = self.compare_view, self.session
        doc = s.index.get(doc_id)
        rows = s.rows.get(doc) if doc is not None else None
        if view is None or doc is None or rows is None:
            self.notify("that document is not scored yet", severity="warning", markup=False)
            return
        before = s.doc
        s.goto(doc, view.target_of(doc_id, rows, unit_pos))
        self._moved(True, doc_changed=s.doc != before)
