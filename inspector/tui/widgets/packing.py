"""Short fields packed into lines of a panel's width, two spaces apart, a field never split
across lines (the next-token panel's figures, the annotation panel's label keys)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text


def packed(fields: Iterable[Text], width: int, new_line_before: Iterable[int] = ()) -> Text:
    """`fields` in order, as many on a line as fit in `width` cells; the fields whose index
    is in `new_line_before` begin a line of their own."""
    breaks = set(new_line_before)
    out = Text()
    used = 0
    for i, field in enumerate(fields):
        if i and (i in breaks or used + 2 + field.cell_len > width):
            out.append("\n")
            used = 0
        elif i:
            out.append("  ")
            used += 2
        out.append_text(field)
        used += field.cell_len
    return out
