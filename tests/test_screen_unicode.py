"""Every character of every document on screen, where the wrap puts it, at every size and
after every step: the screen is read back from an emulated terminal fed with what the app
wrote (tests/terminal.py), not from the widget's state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rich.cells import split_graphemes

from corpora import Document
from inspector import visible
from inspector.session.browse import wrap_spans
from inspector.tui.app import InspectorApp
from inspector.tui.source import Scoring
from inspector.tui.widgets.document_view import NEWLINE_MARK, DocumentView
from terminal import Terminal, terminal

UNICODE = [
    Document("wide", "Emoji 😀🎉 and 日本語のテキストです。Привет, мир!"),
    Document(
        "emoji",
        "Families 👨‍👩‍👧 and 👩🏽‍💻 wave 👋🏼👍🏿; flags 🇫🇷🇯🇵, hearts ❤️ ✨ and keycaps 1️⃣.",
    ),
    Document("marks", "Café naïve résumé: e\u0301 a\u0308 n\u0303 — Vietnamese Tiếng Việt, ǅ."),
    Document(
        "tabs", "Tabs\tbetween\twords\tand 中文文本，日本語のテキスト、한국어 텍스트.\n\tindented"
    ),
    Document("rtl", "عربي: مرحبا بالعالم. עברית: שלום עולם. Ελληνικά και Русский текст."),
    Document(
        "long-word",
        "A word: Pneumonoultramicroscopicsilicovolcanoconiosis_and_an_extraordinarily_long_"
        "word_with_no_spaces_at_all_to_wrap_mid_word_日本語日本語日本語日本語日本語日本語.",
    ),
    Document(
        "indic",
        "हिन्दी भाषा में लिखा गया वाक्य: मात्राएँ अपने ही खाने में। தமிழ் மொழி பழமையானது. বাংলা ভাষা। മലയാളം ഭാഷ.",
    ),
    Document("controls", "NUL\x00 bell\x07 escape\x1b[31m red, \u202eoverride\u202c, DEL\x7f end."),
    Document("long-line", "A long line: " + ("lorem ipsum 日本 😀 " * 600)[:10000]),
]
SIZES = [(80, 24), (120, 36), (200, 50)]


def expected_cells(shown: str, a: int, b: int) -> list[str]:
    """The cells line (a, b) of the shown text fills: a cluster in its first cell, '' after."""
    cells: list[str] = []
    spans, _ = split_graphemes(shown[a:b].replace("\t", " "))
    for s, e, width in spans:
        cluster = shown[a + s : a + e].replace("\t", " ")
        if width == 0 and cells:
            cells[-1] += cluster
        else:
            cells.extend([cluster, *[""] * (width - 1)])
    return cells


def check_view(term: Terminal, view: DocumentView, where: str) -> int:
    """Compare every line of the view on screen with the wrap; the characters checked."""
    region = view.scrollable_content_region
    top = view.scroll_offset.y
    checked = 0
    for row in range(region.height):
        index = top + row
        cells = term.cells(region.y + row)[region.x : region.x + region.width]
        if index >= len(view._lines):
            assert not "".join(cells).strip(), f"{where}: row {row} should be blank"
            continue
        a, b = view._lines[index]
        want = expected_cells(view.text, a, b)
        got = cells[: len(want)]
        assert got == want, f"{where}: line {index} drawn {got!r}, wrap says {want!r}"
        rest = "".join(cells[len(want) :]).strip()
        assert rest in ("", NEWLINE_MARK), f"{where}: line {index} has {rest!r} after it"
        checked += b - a
    return checked


def test_wrap_covers_every_character_in_cells() -> None:
    """Property of the wrap itself: each line fits its width in cells, the lines cover the
    text in order (newlines between them), and no grapheme cluster is cut."""
    for doc in UNICODE:
        shown = visible.same_length(doc.text)
        cells = visible.cell_widths(shown)
        for width in (1, 2, 7, 40, 79):
            lines = wrap_spans(shown, width, cells)
            joined = "\n".join(shown[a:b] for a, b in lines)
            assert joined.replace("\n", "") == shown.replace("\n", "")
            starts = visible.cluster_starts(shown, cells)
            for a, b in lines:
                assert int(cells[a:b].sum()) <= max(width, int(cells[a:b].max(initial=0)))
                assert a >= len(shown) or starts[a] or a == b


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_character_on_screen_at_every_step(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    app = InspectorApp(
        Scoring(UNICODE, model_spec=str(tiny_model_dir), device="cpu"), "unicode", tmp_path
    )
    with terminal(monkeypatch, *size) as term:
        async with app.run_test(size=size) as pilot:
            for _ in range(1200):
                if app.scoring in ("done", "failed"):
                    break
                await pilot.pause(0.05)
            assert app.scoring == "done"
            await pilot.pause()
            view = app.query_one(DocumentView)
            for d, doc in enumerate(UNICODE):
                if d:
                    app.action_document(1)
                await pilot.pause()
                assert app.session.doc == d
                seen = np.zeros(len(doc.text), dtype=bool)
                # every target of the short documents; of the 10,000-character one, every
                # target on its first and last screens and every 29th between
                n = len(app.session.current)
                steps = (
                    range(n)
                    if n < 400
                    else sorted({*range(60), *range(0, n, 29), *range(n - 60, n)})
                )
                last = 0
                for pos in steps:
                    app.session.goto(d, pos)
                    top = view.scroll_offset.y
                    app.refresh_view()
                    if view.scroll_offset.y != top or view.scroll_target_y != top:
                        await pilot.pause()  # a scroll: let Textual apply it as for a key
                    else:
                        app.screen._on_timer_update()  # the partial update a key causes
                    where = f"{size[0]}x{size[1]} {doc.id} pos {pos}"
                    check_view(term, view, where)
                    for a, b in view._lines[
                        view.scroll_offset.y : view.scroll_offset.y
                        + view.scrollable_content_region.height
                    ]:
                        seen[a:b] = True
                    last = pos
                assert last == n - 1
                newlines = np.array([c == "\n" for c in doc.text], dtype=bool)
                assert (seen | newlines).all(), f"{doc.id}: characters never on screen"


def test_spacing_marks_measured_as_the_terminal_draws_them() -> None:
    """Rich's measure (so the app's layout) of Indic text equals glibc's wcswidth, which
    tmux and xterm draw by: a spacing vowel sign in a cell of its own."""
    import ctypes
    import ctypes.util
    import locale

    from rich.cells import cell_len

    visible.spacing_marks_take_a_cell()
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C.UTF-8")
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        for word in next(d for d in UNICODE if d.id == "indic").text.split():
            assert cell_len(word) == libc.wcswidth(ctypes.c_wchar_p(word), len(word)), word
    finally:
        locale.setlocale(locale.LC_CTYPE, before)
    assert cell_len("का") == 2 and cell_len("कि") == 2  # ka + a vowel sign: two cells
