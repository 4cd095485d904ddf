"""A terminal for app tests: what Textual writes (every full and partial update, as bytes
would reach a real terminal) is played into a VT emulator, and the screen is read back.

pyte parses the escape sequences; its `draw` is replaced by one that places grapheme
clusters as a modern terminal does (a wide character or emoji sequence in two cells, a
combining mark on the character before it), measured by Rich as Textual measures them,
except that a spacing mark (category Mc, the ा of का) takes a cell of its own, as in every
terminal that measures by wcwidth (tmux, xterm, VTE): where Rich counts it as nothing, the
app's layout and this screen disagree and a test sees it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

import pyte
import pytest
from rich.cells import get_character_cell_size, split_graphemes
from textual.drivers.headless_driver import HeadlessDriver


class GraphemeScreen(pyte.Screen):
    """pyte's screen with cells filled one grapheme cluster at a time."""

    def draw(self, data: str) -> None:
        spans, _ = split_graphemes(data)
        for a, b, width in spans:
            cluster = data[a:b]
            width += sum(  # the terminal's cell for a spacing mark Rich counted as none
                unicodedata.category(c) == "Mc" and not get_character_cell_size(c) for c in cluster
            )
            line = self.buffer[self.cursor.y]
            if width == 0:  # joins the character before it
                if self.cursor.x:
                    last = line[self.cursor.x - 1]
                    line[self.cursor.x - 1] = last._replace(data=last.data + cluster)
                continue
            if self.cursor.x + width > self.columns:
                break  # Textual never writes past the edge; a test would see the loss
            line[self.cursor.x] = self.cursor.attrs._replace(data=cluster)
            for stub in range(1, width):
                line[self.cursor.x + stub] = self.cursor.attrs._replace(data="")
            self.cursor.x += width
        self.dirty.add(self.cursor.y)


class Terminal:
    """The emulated screen the app draws on."""

    def __init__(self, columns: int, lines: int) -> None:
        self.screen = GraphemeScreen(columns, lines)
        self.stream = pyte.Stream(self.screen)

    def feed(self, data: str) -> None:
        self.stream.feed(data)

    def cells(self, y: int) -> list[str]:
        """Row y as cells: a wide character's second cell is ''."""
        row = self.screen.buffer[y]
        return [row[x].data for x in range(self.screen.columns)]

    def row(self, y: int) -> str:
        return "".join(self.cells(y))

    def text(self) -> str:
        return "\n".join(self.row(y) for y in range(self.screen.lines))


@contextmanager
def terminal(monkeypatch: pytest.MonkeyPatch, columns: int, lines: int) -> Iterator[Terminal]:
    """Route every update of apps run with `run_test(size=(columns, lines))` to a Terminal."""
    term = Terminal(columns, lines)
    monkeypatch.setattr(HeadlessDriver, "is_headless", property(lambda self: False))
    monkeypatch.setattr(HeadlessDriver, "write", lambda self, data: term.feed(data))
    yield term
