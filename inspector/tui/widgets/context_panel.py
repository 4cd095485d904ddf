"""The context of the target under the cursor, by attribution (`C`): above the text, which
earlier tokens the prediction leaned on most, each with how far back it is and its score;
the text itself is coloured by the same scores (`DocumentView`'s "context" mode). State,
not an event: it stays until the cursor moves or `C` is pressed again."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from inspector import visible
from inspector.tui.widgets.packing import packed


class ContextPanel(Static):
    """Computes the attribution off the event loop (its own worker) and says so; posts
    `Ready` for the app to colour the text, or `Failed`."""

    DEFAULT_CSS = """
    ContextPanel { height: auto; max-height: 4; padding: 0 1; background: $boost; display: none; }
    """

    @dataclass
    class Ready(Message):
        at: tuple[int, int]  # (document, target) it is of
        found: Any  # run/context.TargetAttribution
        targets: int  # of the document

    @dataclass
    class Failed(Message):
        error: str

    def attribute(self, lm: Callable[[], Any], tokens: list[int], texts: list[str],
                  row: dict[str, Any], at: tuple[int, int], loading: bool = False) -> None:  # fmt: skip
        """Attribute target `row` of a document (`tokens`, their `texts`) to its context
        with the model `lm()` gives (loaded on first use: `loading` says so), in a thread;
        `at` names it."""
        self.computing(repr(row["token"]), int(row["ctx_len"]), loading)
        self.run_worker(partial(self._attribute, lm, tokens, texts, row, at), thread=True,
                        exclusive=True, group="context", exit_on_error=False)  # fmt: skip

    def _attribute(self, lm: Callable[[], Any], tokens: list[int], texts: list[str],
                   row: dict[str, Any], at: tuple[int, int]) -> None:  # fmt: skip
        from inspector.run.context import target_attribution
        from inspector.run.errors import USER_ERRORS

        try:
            model = lm()  # its first load is not the attribution's time
            started = time.perf_counter()
            found = target_attribution(model, tokens, row["pos"], row["ctx_len"])
        except USER_ERRORS as e:  # a model that cannot load: said, not raised
            self.post_message(self.Failed(str(e)))
            return
        seconds = time.perf_counter() - started
        top = [(texts[j], row["pos"] - j, score) for j, score in found.top]
        self.app.call_from_thread(self.show, repr(row["token"]), found.method, found.nll, top,
                                  seconds)  # fmt: skip
        self.post_message(self.Ready(at, found, len(tokens)))

    def computing(self, target: str, tokens: int, loading: bool = False) -> None:
        self.display = True
        first = "loading the model (a few seconds), then " if loading else ""
        self.update(Text(f"context of {visible.line(target)}: {first}attributing {tokens:,} "
                         "tokens (a forward and a backward pass)…", style="dim"))  # fmt: skip

    def show(self, target: str, method: str, nll: float, top: Sequence[tuple[str, int, float]],
             seconds: float) -> None:  # fmt: skip
        """`top`: (token, tokens back, score in nats) of the largest contributors."""
        self.display = True
        how = "gradient x input" if method == "gradient" else "occlusion"
        head = Text.assemble(("context ", "dim"), (visible.line(target), "bold"),
                             (f" ({how}, {seconds:.1f} s; C: off)", "dim"))  # fmt: skip
        fields = [
            Text.assemble((visible.line(repr(tok)), "bold"), f" {back} back ", f"{score:+.3g}")
            for tok, back, score in top
        ]
        width = max(20, (self.size.width or 80) - 2)
        body = packed(fields, width) if fields else Text("nothing in its context moves it")
        self.update(head + Text("\n") + body)

    def hide(self) -> None:
        self.display = False
