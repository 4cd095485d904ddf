"""The run chooser: which cached runs of this corpus compare mode, the `s` screen and its fits
use (one set, remembered per corpus: `run/runsets.py`). Each run is a line with its short
name, size, tokenizer, window and dtype, ticked `[x]` or not `[ ]` in plain characters (in
16 colours a coloured tick alone looks the same either way); the line under the list gives
the highlighted run's full settings."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static

from inspector import visible

HELP = "space: tick or not · t: every run of the highlighted run's tokenizer · enter: use · esc: cancel"


class PickRunsScreen(ModalScreen[list[str] | None]):
    DEFAULT_CSS = """
    PickRunsScreen { align: center middle; }
    PickRunsScreen > Vertical { width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1; }
    PickRunsScreen OptionList { height: auto; max-height: 16; border: none; padding: 0; }
    PickRunsScreen #pick-legend { color: $text-muted; }
    """
    BINDINGS = [
        Binding("space", "tick", "tick"),  # after the list's own keys, in the order typed
        Binding("t", "tokenizer", "one tokenizer"),
        Binding("enter", "use", "use", priority=True),
        Binding("escape", "cancel", "cancel"),
    ]

    def __init__(self, catalog: Any, chosen: list[str], least: int = 2, purpose: str = "") -> None:
        super().__init__()
        self.catalog, self.least, self.purpose = catalog, least, purpose
        self.names = list(catalog.names())
        self.ticked = [e.key in set(chosen) for e in catalog.entries]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "runs to compare and fit"
            yield Static(
                Text(
                    "Runs of this corpus in the cache, smallest model first. Runs of one "
                    "tokenizer (one letter) compare in nats per token; runs of several, in "
                    "bits per byte." + (f" {self.purpose}" if self.purpose else ""),
                ),
            )
            yield OptionList(*(self._prompt(i) for i in range(len(self.names))), id="pick-list")
            yield Static("", id="pick-legend")
            yield Static(Text(HELP, style="dim"))

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()
        self._say()

    def _prompt(self, i: int) -> Text:
        e = self.catalog.entries[i]
        st = e.run.settings
        from inspector.tables.render import param_count

        width = max(len(n) for n in self.names)
        line = Text("[x] " if self.ticked[i] else "[ ] ", style="bold" if self.ticked[i] else "dim")
        line.append(visible.line(self.names[i]).ljust(width))
        windows = max(len(str(x.run.settings.get("window"))) for x in self.catalog.entries)
        line.append(
            f"  {param_count(st.get('n_params')):>5}  tokenizer {e.tokenizer}  "
            f"win {st.get('window')!s:>{windows}}  {st.get('dtype')}",
            style="dim",
        )
        return line

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._say()

    def _say(self) -> None:
        from inspector.run.runsets import legend_line

        i = self.query_one(OptionList).highlighted
        if i is None:
            return
        ticked = sum(self.ticked)
        legend = legend_line(self.names[i], self.catalog.entries[i])
        self.query_one("#pick-legend", Static).update(
            Text(visible.line(legend) + f"\n{ticked} of {len(self.names)} ticked")
        )

    def _refresh(self) -> None:
        options = self.query_one(OptionList)
        for i in range(len(self.names)):
            options.replace_option_prompt_at_index(i, self._prompt(i))
        self._say()

    def action_tick(self) -> None:
        i = self.query_one(OptionList).highlighted
        if i is not None:
            self.ticked[i] = not self.ticked[i]
            self._refresh()

    def action_tokenizer(self) -> None:
        """Tick exactly the runs of the highlighted run's tokenizer."""
        i = self.query_one(OptionList).highlighted
        if i is not None:
            mine = self.catalog.entries[i].tokenizer
            self.ticked = [e.tokenizer == mine for e in self.catalog.entries]
            self._refresh()

    def action_use(self) -> None:
        keys = [e.key for e, t in zip(self.catalog.entries, self.ticked, strict=True) if t]
        if len(keys) < self.least:
            self.notify(f"tick {self.least} runs or more", severity="warning", markup=False)
            return
        self.dismiss(keys)

    def action_cancel(self) -> None:
        self.dismiss(None)
