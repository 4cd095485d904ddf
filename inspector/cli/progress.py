"""Scoring progress for people at a terminal: a tqdm bar over tokens, or where stderr is not
a terminal (a log, a batch job) a line now and then."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

PROGRESS_EVERY = 30.0  # seconds between progress lines when stderr is not a terminal


class ProgressLines:
    """Progress as a line now and then (at most every `every` seconds), for a log or a
    terminal-less run: a long document otherwise scores for minutes without a word."""

    def __init__(self, say: Callable[[str], None], every: float | None = None,
                 what: str = "scoring", unit: str = "tokens", first: bool = False) -> None:  # fmt: skip
        self.say, self.every = say, PROGRESS_EVERY if every is None else every
        self.what, self.unit = what, unit
        self.first = first  # say the first call at once (a job of few, slow steps)
        self.started = self.last = time.perf_counter()

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.perf_counter()
        if now - self.last < self.every and not self.first:
            return
        self.first = False
        self.last = now
        rate = done / max(1e-9, now - self.started)
        text = f"{self.what}: {done:,} {self.unit}"
        if total:
            left = (total - done) / max(rate, 1e-9)
            text += f" of {total:,} ({done / total:.0%}), about {_duration(left)} left"
        self.say(f"{text}, {rate:,.{1 if rate < 10 else 0}f} {self.unit}/s")  # 0.4, not 0


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


class TokenProgress:
    """Progress of a scoring call as `progress(done, total)` callbacks: a tqdm bar over
    tokens on stderr when it is a terminal, else a line every `PROGRESS_EVERY` seconds.
    Used as a context manager, so the bar is closed whatever happens."""

    def __init__(self, what: str = "scoring", unit: str = "tokens") -> None:
        self.bar: Any = None
        self.lines: ProgressLines | None = None
        self.what, self.unit = what, unit
        if not sys.stderr.isatty():
            say = lambda text: print(f"inspector: {text}", file=sys.stderr)  # noqa: E731
            self.lines = ProgressLines(say, what=what, unit=unit, first=what != "scoring")

    def __call__(self, done: int, total: int) -> None:
        if self.lines is not None:
            self.lines(done, total)
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total, unit="tok" if self.unit == "tokens" else self.unit.rstrip("s"),
                unit_scale=True, desc=self.what, leave=False,
                file=sys.stderr,
            )  # fmt: skip
        self.bar.update(done - self.bar.n)

    def __enter__(self) -> TokenProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
