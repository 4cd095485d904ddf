"""The colour scales in truecolor, 256 and 16 colours (issue 13, item 7): every bucket a
different colour, text on it at a contrast of at least 4.5:1 (WCAG AA)."""

from __future__ import annotations

import pytest
from rich.color import Color, ColorSystem

from inspector.tui.widgets.styles import DELTA_STYLES, LOSS_STYLES, RANK_STYLES

SYSTEMS = {"truecolor": ColorSystem.TRUECOLOR, "256": ColorSystem.EIGHT_BIT,
           "16": ColorSystem.STANDARD}  # fmt: skip


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        x = c / 255
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _shown(colour: Color, system: ColorSystem) -> tuple[int, int, int]:
    """The RGB a terminal of `system` shows for `colour` (Rich's downgrade and palette)."""
    return tuple(colour.downgrade(system).get_truecolor())  # type: ignore[return-value]


@pytest.mark.parametrize("mode", list(SYSTEMS))
@pytest.mark.parametrize("scale", ["loss", "rank", "change"])
def test_every_bucket_is_distinct_and_readable(scale: str, mode: str) -> None:
    styles = {"loss": LOSS_STYLES, "rank": RANK_STYLES, "change": DELTA_STYLES}[scale]
    system = SYSTEMS[mode]
    backgrounds = [_shown(s.bgcolor, system) for s in styles]  # type: ignore[arg-type]
    assert len(set(backgrounds)) == len(backgrounds), backgrounds
    for style, bg in zip(styles, backgrounds, strict=True):
        text = _shown(style.color, system)  # type: ignore[arg-type]
        assert _contrast(text, bg) >= 4.5, (style, mode)
