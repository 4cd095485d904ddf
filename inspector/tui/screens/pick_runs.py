"""Which cached runs compare mode compares: every run of this corpus in the cache, listed in
the order they are compared (smallest model first, then smallest window), to tick."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import SelectionList, Static


class PickRunsScreen(ModalScreen[list[int] | None]):
    DEFAULT_CSS = """
    PickRunsScreen { align: center middle; }
    PickRunsScreen > Vertical { width: 90; max-width: 95%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1; }
    PickRunsScreen SelectionList { height: auto; max-height: 20; }
    """
    BINDINGS = [
        Binding("enter", "compare", "compare", priority=True),
        Binding("escape", "cancel", "cancel"),
    ]

    def __init__(self, names: list[str], chosen: list[int]) -> None:
        super().__init__()
        self.names, self.chosen = names, chosen

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "Runs of this corpus in the cache, in the order they are compared: the change "
                "shown is the last chosen run's loss minus the first's.",
                markup=False,
            )
            yield SelectionList[int](
                *((name, i, i in self.chosen) for i, name in enumerate(self.names))
            )
            yield Static("space: choose or not · enter: compare (two or more) · esc: cancel",
                         markup=False)  # fmt: skip

    def action_compare(self) -> None:
        chosen = sorted(self.query_one(SelectionList).selected)
        if len(chosen) < 2:
            self.notify("choose two runs or more", severity="warning", markup=False)
            return
        self.dismiss(chosen)

    def action_cancel(self) -> None:
        self.dismiss(None)
