"""Named ranges around the stages of scoring (the model body, the head, post-processing, the
copy to the host, writing out), read by `inspector bench --shape --profile`.

`torch.profiler.record_function` costs a few microseconds a range when no profiler runs;
scoring opens a handful per batch.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

STAGES = ("score.body", "score.head", "score.post", "score.copy", "score.write")


def stage(name: str) -> AbstractContextManager[Any]:
    """A profiler range named `name` (one of STAGES)."""
    from torch.profiler import record_function

    return record_function(name)
