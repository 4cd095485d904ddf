"""Colours of the loss and rank scales, shared by the document view and its legend."""

from __future__ import annotations

from rich.style import Style

# Colours of the xterm 256-colour cube, so a 256-colour terminal shows them exactly, chosen to
# fall on six different colours of the 16 too, each with the text colour (black or white) that
# reads at a contrast of at least 4.5:1 in all three (tests/test_palette.py checks both).
WHITE, BLACK = "#ffffff", "#000000"
LOSS_COLOURS = ("#005f00", "#5fd75f", "#d7d75f", "#ff875f", "#d70000", "#af00af")
LOSS_TEXT = (WHITE, BLACK, BLACK, BLACK, WHITE, WHITE)
RANK_COLOURS = ("#005f00", "#d7d75f", "#d70000", "#af00af")  # GLTR: green, yellow, red, purple
RANK_TEXT = (WHITE, BLACK, WHITE, WHITE)
LOSS_STYLES = tuple(Style(color=t, bgcolor=c) for c, t in zip(LOSS_COLOURS, LOSS_TEXT, strict=True))
RANK_STYLES = tuple(Style(color=t, bgcolor=c) for c, t in zip(RANK_COLOURS, RANK_TEXT, strict=True))
# The change between runs, diverging: blues better (lower loss), grey about the same, orange and
# red worse; the same checks as above (distinct and readable in truecolor, 256 and 16 colours)
DELTA_COLOURS = ("#005faf", "#5fafff", "#bcbcbc", "#ffaf5f", "#d70000")
DELTA_TEXT = (WHITE, BLACK, BLACK, BLACK, WHITE)
DELTA_STYLES = tuple(
    Style(color=t, bgcolor=c) for c, t in zip(DELTA_COLOURS, DELTA_TEXT, strict=True)
)
# Attribution to the target under the cursor (`C`) is drawn on the same diverging colours:
# blue the tokens that help the prediction (lower its loss), red those that hurt it
UNSCORED = Style(color="#8a8a8a")
SELECTED = Style(color="#000000", bgcolor="#ffffff", bold=True, underline=True)
