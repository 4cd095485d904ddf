"""The app's browsing actions: moving through the text, jumping to targets, search, go-to,
colours, the per-task and help screens. State lives in the session (`session/browse.py`);
these read keys and redraw."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import App

from inspector.session.browse import Session
from inspector.tui.screens.prompt import PromptScreen
from inspector.tui.widgets.document_view import DocumentView
from inspector.tui.widgets.legend import Legend
from taggers.rules import RuleSet


class BrowsingApp(App[None]):
    """Actions that move the cursor or open a screen; `InspectorApp` draws."""

    session: Session
    cache_dir: Path
    corpus_key: str
    last_search: str

    @property
    def rules(self) -> RuleSet | None:
        raise NotImplementedError

    def refresh_view(self, tables: bool = False) -> None:
        raise NotImplementedError

    def refresh_status(self) -> None:
        raise NotImplementedError

    def _request_rows(self) -> None:
        raise NotImplementedError

    def save_place(self) -> None:
        raise NotImplementedError

    def footer_shows(self, action: str) -> bool:
        """Whether the footer lists a binding (the modes narrow it down)."""
        return True

    # -- actions ------------------------------------------------------------------------
    def _moved(self, moved: bool, doc_changed: bool = False) -> None:
        if moved:
            self.refresh_view(tables=doc_changed)
            if doc_changed:
                self._request_rows()
                self.save_place()

    def action_step(self, delta: int) -> None:
        self._moved(self.session.step(delta))

    def action_word(self, delta: int) -> None:
        self._moved(self.session.word(delta))

    def action_document(self, delta: int) -> None:
        self._moved(self.session.document_step(delta), doc_changed=True)

    def action_first(self) -> None:
        self._moved(self.session.first())

    def action_last(self) -> None:
        self._moved(self.session.last())

    _task_cycle: list[str | None] = []  # the order `t` goes through, from its first press

    def action_pick_task(self) -> None:
        tasks = self.session.tasks()
        if not tasks:
            self.notify("nothing is scored yet", severity="warning", markup=False)
            return
        current = self.session.task_filter
        cycle = self._task_cycle
        if current is not None and current in cycle and set(cycle) == {*tasks, None}:
            # cycle on from where the first press began: every other task once, then none
            self.session.task_filter = cycle[(cycle.index(current) + 1) % len(cycle)]
        else:  # the first press picks the task of the target under the cursor
            row = self.session.row()
            first = tasks.index(row["task"]) if row and row["task"] in tasks else 0
            self._task_cycle = [*tasks[first:], *tasks[:first], None]
            self.session.task_filter = tasks[first]
        self.refresh_status()  # the status line says it (`f:task=grammar`): no toast over it

    def action_jump(self, kind: str, direction: int) -> None:
        if kind == "task" and not self.session.task_filter:
            self.notify("press t to choose a task first", severity="warning", markup=False)
            return
        doc = self.session.doc
        if not self.session.next_match(kind, direction):
            self.notify("no more matches in the scored documents", timeout=2, markup=False)
            return
        self._moved(True, doc_changed=self.session.doc != doc)

    def action_threshold(self, delta: int) -> None:
        self.session.loss_threshold = max(0.0, self.session.loss_threshold + delta)
        self.refresh_status()

    def action_search(self) -> None:
        self.push_screen(
            PromptScreen("search the text", "words to find", self.last_search), self._searched
        )

    def _searched(self, query: str | None) -> None:
        if query:
            self.last_search = query
            self.action_search_again(1)

    def action_search_again(self, direction: int) -> None:
        if not self.last_search:
            self.action_search()
            return
        doc = self.session.doc
        if self.session.search(self.last_search, direction):
            self._moved(True, doc_changed=self.session.doc != doc)
            self.refresh_view(tables=self.session.doc != doc)
        else:
            self.notify(f"not found: {self.last_search!r}", severity="warning", markup=False)

    def action_goto(self) -> None:
        self.push_screen(
            PromptScreen(
                "go to: document number (from 1) or id, then :pos (the table's, from 0)", "3:40"
            ),
            self._went,
        )

    def _went(self, answer: str | None) -> None:
        if not answer:
            return
        where, _, pos = answer.strip().partition(":")
        doc = self.session.doc
        target = self.session.find_document(where) if where else doc
        if target is None:
            self.notify(f"no document {where!r}", severity="warning", markup=False)
            return
        self.session.goto(target, int(pos) if pos.strip().isdigit() else 0)
        self._moved(True, doc_changed=self.session.doc != doc)

    def action_colour(self) -> None:
        view = self.query_one(DocumentView)
        cycle = ["loss", "rank", *(["change"] if getattr(self, "comparing", False) else [])]
        mode = cycle[(cycle.index(view.mode) + 1) % len(cycle)] if view.mode in cycle else "loss"
        view.set_mode(mode)
        self.query_one(Legend).show(mode)

    @on(DocumentView.TokenClicked)
    def on_token_clicked(self, message: DocumentView.TokenClicked) -> None:
        self._moved(self.session.goto(self.session.doc, message.pos))
