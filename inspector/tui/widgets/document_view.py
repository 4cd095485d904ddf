"""The document text, each target coloured by its loss or rank bucket, the current one marked.

Built on the Line API: only the lines on screen are rendered, so a 200,000-token document
steps as quickly as a sentence.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from inspector import visible
from inspector.session.browse import DocRows, owners, wrap_spans
from inspector.tui.widgets.styles import (
    DELTA_STYLES,
    LOSS_STYLES,
    RANK_STYLES,
    SELECTED,
    UNSCORED,
)

NEWLINE_MARK = "↵"  # drawn where a newline target is, so the cursor on it shows


class DocumentView(ScrollView, can_focus=True):
    """Scrollable, coloured text of one document."""

    DEFAULT_CSS = """
    DocumentView { height: 1fr; padding: 0 1; scrollbar-size-vertical: 1; scrollbar-gutter: stable; }
    """

    @dataclass
    class TokenClicked(Message):
        """The reader clicked on a target."""

        pos: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = ""  # what is drawn: the document with its control characters made visible
        self._source = ""
        self.rows: DocRows | None = None
        self.selected = 0
        self.mode = "loss"  # or "rank", or "change" (compare mode), or "context" (`C`)
        self.change_bucket: np.ndarray | None = None  # per target, in compare mode
        self.context_bucket: np.ndarray | None = None  # per target, by attribution (`C`)
        self._owner = np.empty(0, dtype=np.int64)
        self._cells = np.empty(0, dtype=np.int64)  # terminal cells of each character
        self._cluster_start = np.empty(0, dtype=bool)  # where a style may change
        self._lines: list[tuple[int, int]] = []
        self._line_starts: list[int] = []
        self._width = 0

    # -- content ------------------------------------------------------------------------
    def show(self, text: str, rows: DocRows | None, selected: int) -> None:
        """Display a document (rows None while it is unscored) with `selected` marked."""
        changed = text is not self._source or rows is not self.rows
        self.rows, self.selected = rows, selected
        if changed:
            self._source = text
            self.text = visible.same_length(text)  # control characters never reach the terminal
            self._cells = visible.cell_widths(self.text)
            self._cluster_start = visible.cluster_starts(self.text, self._cells)
        if changed:
            self._owner = (
                owners(len(text), rows.char_start, rows.char_end)
                if rows
                else np.full(len(text), -1)
            )
            self._width = 0  # re-wrap
        self._layout()
        self.scroll_to_selected()
        self.refresh()

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.refresh()

    def set_context(self, buckets: np.ndarray | None) -> None:
        """The attribution bucket of each target (-1: outside the context), for `C`."""
        self.context_bucket = buckets
        self.refresh()

    def set_change(self, buckets: np.ndarray | None) -> None:
        """The change bucket of each target (-1: in no compared unit), for compare mode."""
        self.change_bucket = buckets
        self.refresh()

    def _scale(self) -> tuple[tuple[Style, ...], np.ndarray | None]:
        """The styles and per-target buckets of the colouring in use."""
        if self.mode == "change":
            return DELTA_STYLES, self.change_bucket
        if self.mode == "context":
            return DELTA_STYLES, self.context_bucket
        if self.rows is None:
            return LOSS_STYLES, None
        if self.mode == "loss":
            return LOSS_STYLES, self.rows.loss_bucket
        return RANK_STYLES, self.rows.rank_bucket

    def _layout(self) -> None:
        width = max(10, self.scrollable_content_region.width)
        if width != self._width:
            self._width = width
            # a cell for the newline marker
            self._lines = wrap_spans(self.text, width - 1, self._cells)
            self._line_starts = [a for a, _ in self._lines]
            self.virtual_size = Size(width, len(self._lines))

    def on_resize(self, event: events.Resize) -> None:
        self._layout()
        self.scroll_to_selected()

    def line_of(self, char: int) -> int:
        return max(0, bisect_right(self._line_starts, char) - 1)

    def scroll_to_selected(self) -> bool:
        """Scroll so the selected target is on screen; True if that scrolled."""
        if self.rows is None or not len(self.rows) or not self._lines:
            return False
        line = self.line_of(int(self.rows.char_start[self.selected]) + 1)
        top, height = self.scroll_offset.y, max(1, self.scrollable_content_region.height)
        if top <= line < top + height:
            return False
        self.scroll_to(y=max(0, line - height // 3), animate=False)
        return True

    # -- rendering ----------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        index = y + self.scroll_offset.y
        width = self.scrollable_content_region.width
        if index >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        a, b = self._lines[index]
        segments = self._segments(a, b) + self._newline_marker(b)
        return Strip(segments).adjust_cell_length(width, self.rich_style)

    def _style_at(self, char: int, styles: tuple[Style, ...], buckets: np.ndarray | None) -> Style:
        o = int(self._owner[char])
        if o < 0 or buckets is None or o >= len(buckets) or buckets[o] < 0:
            return UNSCORED
        return styles[int(buckets[o])]

    def _newline_marker(self, end: int) -> list[Segment]:
        """A visible cell for a newline that is (part of) a target: `↵` in its bucket's
        colour, marked when selected; a newline is otherwise drawn as nothing at all."""
        if end >= len(self.text) or self.text[end] != "\n" or self._owner[end] < 0:
            return []
        style = self._style_at(end, *self._scale())
        sel = self._selected_span()
        if sel is not None and sel[0] <= end < sel[1]:
            style = style + SELECTED
        return [Segment(NEWLINE_MARK, style)]

    def _segments(self, a: int, b: int) -> list[Segment]:
        if a == b:
            return []
        owner = self._owner[a:b]
        # a grapheme cluster (an emoji sequence split into byte pieces) is drawn whole, in
        # the style of its first character: Rich would measure its parts apart
        cuts = {self._cluster_end(c) for c in (np.flatnonzero(np.diff(owner)) + 1 + a).tolist()}
        sel = self._selected_span()
        if sel is not None:
            cuts |= {c for c in sel if a < c < b}
        edges = [a, *sorted(c for c in cuts if a < c < b), b]
        styles, buckets = self._scale()
        segments = []
        for s, e in pairwise(edges):
            style = self._style_at(s, styles, buckets)
            if sel is not None and sel[0] <= s < sel[1]:
                style = style + SELECTED
            segments.append(Segment(self.text[s:e].replace("\t", " "), style))
        return segments

    def _cluster_end(self, char: int) -> int:
        """`char` if a grapheme cluster starts there, else where the next one starts."""
        while char < len(self.text) and not self._cluster_start[char]:
            char += 1
        return char

    def _cluster_begin(self, char: int) -> int:
        """The start of the grapheme cluster `char` is in."""
        while char > 0 and char < len(self.text) and not self._cluster_start[char]:
            char -= 1
        return char

    def _selected_span(self) -> tuple[int, int] | None:
        """The selected target's characters (its leading space not marked), widened to whole
        grapheme clusters: a piece inside an emoji sequence marks the whole glyph."""
        if self.rows is None or not len(self.rows):
            return None
        s, e = int(self.rows.char_start[self.selected]), int(self.rows.char_end[self.selected])
        piece = self.text[s:e]
        if piece.strip():
            s += len(piece) - len(piece.lstrip())
        if e <= s:
            return s, e
        return self._cluster_begin(s), self._cluster_end(e)

    # -- mouse --------------------------------------------------------------------------
    def on_click(self, event: events.Click) -> None:
        if self.rows is None or not len(self.rows):
            return
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = offset.y + self.scroll_offset.y
        if index >= len(self._lines):
            return
        a, b = self._lines[index]
        # the character drawn in the clicked cell: the first whose cells reach past it
        reach = np.cumsum(self._cells[a:b])
        column = offset.x + self.scroll_offset.x
        char = min(a + int(np.searchsorted(reach, column, side="right")), max(a, b - 1))
        self.post_message(self.TokenClicked(self.rows.token_at(char)))
