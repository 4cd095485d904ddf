"""Colours of the loss and rank scales, shared by the document view and its legend."""

from __future__ import annotations

from itertools import pairwise

from rich.style import Style

from inspector.browse import LOSS_EDGES, RANK_BUCKETS

LOSS_COLOURS = ("#1b5e20", "#4c7a1f", "#8d8a1c", "#b86b12", "#b7322a", "#7b1f5e")
RANK_COLOURS = ("#2e7d32", "#9e9d24", "#c62828", "#6a1b9a")  # GLTR: green, yellow, red, purple
LOSS_STYLES = tuple(Style(color="#ffffff", bgcolor=c) for c in LOSS_COLOURS)
RANK_STYLES = tuple(Style(color="#ffffff", bgcolor=c) for c in RANK_COLOURS)
UNSCORED = Style(color="#8a8a8a")
SELECTED = Style(color="#000000", bgcolor="#ffffff", bold=True, underline=True)


def loss_labels() -> list[str]:
    edges = ["0", *(f"{e:g}" for e in LOSS_EDGES)]
    return [f"{a}-{b}" for a, b in pairwise(edges)] + [f"{LOSS_EDGES[-1]:g}+"]


def rank_labels() -> list[str]:
    return [label for _, label in RANK_BUCKETS]
