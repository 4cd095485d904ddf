"""Untrusted text made safe to show: control characters become visible, never reach a terminal.

Corpus text, field names, rule names, file and model names can hold terminal escape
sequences (`\\x1b]2;TITLE\\x07` retitles the window), bidirectional overrides that reorder
what is read, or lone surrogates that cannot even be encoded for output. Every view shows
them as escapes instead: one-line views as `\\x1b`-style escapes (`line`), the document view
one character for one (`same_length`), so character offsets into the text stay valid.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy only where widths are measured: `--help` imports nothing heavy
    import numpy as np

# C0 controls, DEL, C1 controls, bidirectional embeddings/overrides/isolates, surrogates
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_TEXT = re.compile(f"[{_UNSAFE}]")  # newlines and tabs kept: multi-line text
_UNSAFE_LINE = re.compile(f"[{_UNSAFE}\t\n]")  # everything on one line
_CONTROL_PICTURES = {c: chr(0x2400 + c) for c in range(0x20)} | {0x7F: "\u2421"}


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return {9: "\\t", 10: "\\n", 13: "\\r"}.get(code) or (
        f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    )


def line(text: object) -> str:
    """`text` on one line with every control character as a visible escape (`\\x1b`, `\\n`)."""
    return _UNSAFE_LINE.sub(_escape, str(text))


def text(value: object) -> str:
    """`value` with control characters escaped, newlines and tabs kept (multi-line views)."""
    return _UNSAFE_TEXT.sub(_escape, str(value))


_COLOUR_OR_UNSAFE = re.compile(f"(\x1b\\[[0-9;]*m)|[{_UNSAFE}]")


def break_long_words(value: str, cells: int) -> str:
    """`value` with each word wider than `cells` (a path, a URL) broken onto lines after a
    `/` (else `.`, `_`, `-`) that fits, where a wrapping widget would cut it mid-name."""
    from rich.cells import cell_len

    cells = max(8, cells)
    out = []
    for part in re.split(r"(\s+)", value):
        while cell_len(part) > cells:
            head = cut_cells(part, cells)
            at = max(head.rfind(c) for c in "/._-")
            at = at + 1 if at > 0 else len(head)
            out.append(part[:at] + "\n")
            part = part[at:]
        out.append(part)
    return "".join(out)


def cut_cells(value: str, cells: int) -> str:
    """The longest start of `value` that takes at most `cells` cells."""
    from rich.cells import cell_len

    end = len(value)
    while end and cell_len(value[:end]) > cells:
        end -= 1
    return value[:end]


def keep_colour(value: str) -> str:
    """`text`, but colour (SGR) sequences kept: for our own coloured output, such as a plot,
    that may also hold user strings; any other escape sequence is shown, not obeyed."""
    return _COLOUR_OR_UNSAFE.sub(lambda m: m.group(1) or _escape(m), value)


def cut(value: str, cells: int) -> str:
    """`value` in at most `cells` terminal cells: whole, or cut at a cell and ended with …
    (measured as Rich measures: a CJK character two cells, a combining mark none)."""
    from rich.cells import cell_len, set_cell_size

    if cell_len(value) <= cells:
        return value
    return set_cell_size(value, max(0, cells - 1)).rstrip(" ") + "…"


def same_length(value: str) -> str:
    """Each control character replaced by one visible character (a control picture such as
    ␛, or � for the others), newlines and tabs kept: same length, so spans stay valid."""
    return _UNSAFE_TEXT.sub(lambda m: _CONTROL_PICTURES.get(ord(m.group()), "\ufffd"), value)


def cell_widths(value: str) -> np.ndarray:
    """Terminal cells of each character of `value`, as Rich (and so Textual) measures them:
    a grapheme cluster's cells (2 for East Asian wide characters and emoji, an emoji ZWJ
    sequence or a flag included) on its first character, 0 on the rest of it (combining
    marks, joiners, variation selectors, modifiers); a tab 1 (drawn as one space), a
    newline 0. A view must not cut a cluster between two styles, or Rich measures its parts
    apart: `cluster_starts` says where cuts may go.
    """
    import numpy as np
    from rich.cells import split_graphemes

    spacing_marks_take_a_cell()
    widths = np.ones(len(value), dtype=np.int64)
    start = 0
    for line in value.split("\n"):
        if line and not _SINGLE_CELLS.fullmatch(line):
            spans, _ = split_graphemes(line.replace("\t", " "))
            for a, b, cells in spans:
                widths[start + a : start + b] = 0
                widths[start + a] = cells
        if start + len(line) < len(value):
            widths[start + len(line)] = 0  # the newline
        start += len(line) + 1
    _pair_flags(value, widths)
    return widths


def _pair_flags(value: str, widths: np.ndarray) -> None:
    """A flag is a pair of regional indicators (🇫🇷): Rich measures them one cell each, a
    terminal draws one glyph of two. Both cells go on the pair's first, so no wrap or style
    change falls between its halves (a run of indicators pairs from its start)."""
    import numpy as np

    if not _REGIONAL.search(value):
        return
    codes = np.frombuffer(value.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    previous, run = -2, 0
    for i in np.flatnonzero((codes >= 0x1F1E6) & (codes <= 0x1F1FF)).tolist():
        run = run + 1 if i == previous + 1 else 0
        if run % 2:  # the second of a pair
            widths[i - 1] += widths[i]
            widths[i] = 0
        previous = i


_SINGLE_CELLS = re.compile("[\t\x20-\x7e\xa0-\u02ff]*")  # Latin, no combining marks
_REGIONAL = re.compile("[\U0001f1e6-\U0001f1ff]")
_SPACING_MARKS_MEASURED = False


def spacing_marks_take_a_cell() -> None:
    """Make Rich (so Textual's layout) give a spacing combining mark one cell, as terminals do.

    Rich 15 counts a spacing mark (Unicode category Mc: the Devanagari vowel sign ा in का,
    Tamil, Bengali, Malayalam...) as part of its base's cell; terminals that measure by
    wcwidth (tmux, xterm, VTE, alacritty; glibc's wcwidth says 1) draw it in a cell of its
    own. Laid out by Rich, a line of Hindi is drawn wider than planned and pushes the panel
    beside it off the screen. This takes the Mc code points out of the zero-width ranges of
    Rich's table, once per process, before anything is measured (Rich's caches are cleared).
    """
    global _SPACING_MARKS_MEASURED
    if _SPACING_MARKS_MEASURED:
        return
    import unicodedata

    from rich import cells
    from rich._unicode_data import load

    widths = load().widths  # (first, last, width) ranges, sorted; a code point not in one: 1
    assert isinstance(widths, list)  # changed in place: every measure reads this table
    kept: list[tuple[int, int, int]] = []
    for first, last, width in widths:
        if width != 0:
            kept.append((first, last, width))
            continue
        run = first
        for code in range(first, last + 1):
            if unicodedata.category(chr(code)) == "Mc":
                if run < code:
                    kept.append((run, code - 1, 0))
                run = code + 1
        if run <= last:
            kept.append((run, last, 0))
    widths[:] = kept
    cells.get_character_cell_size.cache_clear()
    cells.cached_cell_len.cache_clear()  # Textual measures through this one too
    _SPACING_MARKS_MEASURED = True


def cluster_starts(value: str, widths: np.ndarray) -> np.ndarray:
    """Whether each character begins a grapheme cluster (a place a view may change style)."""
    import numpy as np

    starts = widths > 0
    if len(value):
        starts[0] = True
    # a zero-width character on its own (a lone combining mark at a line's start) and
    # newlines begin clusters too; inside a cluster every later character is zero-width
    codes = np.frombuffer(value.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    starts |= codes == 0x0A
    starts[1:] |= codes[:-1] == 0x0A
    return starts
