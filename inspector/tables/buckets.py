"""The colour buckets of a target's loss and rank, one definition for the app and the HTML
page: loss in nats cut at 0.5, 1, 2, 4 and 8; rank as GLTR counts it (top-1, top-10,
top-100, beyond)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

LOSS_EDGES = (0.5, 1.0, 2.0, 4.0, 8.0)  # nats; six colour buckets
RANK_BUCKETS = ((1, "top-1"), (10, "top-10"), (100, "top-100"), (None, "beyond"))  # as GLTR


def loss_bucket(nll: np.ndarray) -> np.ndarray:
    """0 (under 0.5 nats) to 5 (8 nats or more) per target."""
    return np.searchsorted(np.asarray(LOSS_EDGES), nll, side="right")


def rank_bucket(rank: np.ndarray) -> np.ndarray:
    """0 top-1, 1 top-10, 2 top-100, 3 beyond, per target."""
    return np.searchsorted(np.asarray([1, 10, 100]), rank, side="left")


def loss_labels() -> list[str]:
    edges = ["0", *(f"{e:g}" for e in LOSS_EDGES)]
    return [f"{a}-{b}" for a, b in pairwise(edges)] + [f"{LOSS_EDGES[-1]:g}+"]


def rank_labels() -> list[str]:
    return [label for _, label in RANK_BUCKETS]


# Attribution to one target, relative to the largest in its context (`C` in the app, a click
# in the html page): ++ at least half of it, + a tenth, and the same towards hurting
CONTEXT_LABELS = ("helps ++", "helps +", "~0", "hurts -", "hurts --")
