"""Benchmarks of the app itself: time to first frame, and key-to-screen latency.

Run by `inspector bench`; headless (Textual's test driver), which renders every frame as a
terminal would but writes it nowhere.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from corpora import Document
from inspector.tui.app import InspectorApp
from inspector.tui.pilot import key_latencies
from inspector.tui.source import Given


def tiled_document(
    docs: list[Document], table: pl.DataFrame, tokens: int
) -> tuple[Document, pl.DataFrame]:
    """One document of at least `tokens` targets: the scored documents repeated end to end.

    Their real rows are tiled with shifted spans; what is measured is moving and drawing,
    which does not depend on the numbers.
    """
    parts, texts, offset, pos = [], [], 0, 0
    by_id = {d.id: d for d in docs}
    groups = [
        (doc_id, t)
        for (doc_id,), t in table.partition_by("doc_id", as_dict=True, maintain_order=True).items()
    ]
    while pos < tokens:
        for doc_id, rows in groups:
            text = by_id[str(doc_id)].text
            shift = pl.lit(offset, dtype=pl.Int64)
            parts.append(
                rows.with_columns(
                    pl.lit("long").alias("doc_id"),
                    (pl.col("pos") + pos).alias("pos"),
                    *(
                        (pl.col(c) + shift).alias(c)
                        for c in ("char_start", "char_end", "word_start", "word_end")
                    ),
                )
            )
            texts.append(text)
            offset += len(text) + 2
            pos += rows.height
    return Document("long", "\n\n".join(texts)), pl.concat(parts)


def key_latency(
    docs: list[Document], table: pl.DataFrame, cache_dir: Path, presses: int = 300
) -> dict[str, float]:
    """Milliseconds from a key press to the redrawn screen, stepping through a document."""
    app = InspectorApp(Given(docs, table=table), "bench", cache_dir)
    times = np.asarray(asyncio.run(key_latencies(app, presses))) * 1000
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95))}


FIRST_FRAME = """
import asyncio, json, sys, time
started, model = float(sys.argv[1]), sys.argv[3]
from pathlib import Path
from corpora import bundled_path, read_corpus
from inspector.tui.app import InspectorApp
from inspector.tui.source import Scoring

async def main():
    source = Scoring(read_corpus([bundled_path()]), model_spec=model)
    app = InspectorApp(source, "bundled samples", Path(sys.argv[2]))
    async with app.run_test(size=(120, 40)) as pilot:
        first = time.time() - started
        while app.scoring not in ("done", "failed"):
            await pilot.pause(0.01)
        await pilot.pause()
        print(json.dumps({"first_frame_s": first, "scores_shown_s": time.time() - started, "from_cache": app.from_cache}))

asyncio.run(main())
"""


def first_frame(cache_dir: Path, model: str = "") -> dict[str, Any]:
    """In a fresh interpreter, the seconds until the app's first frame and until the cached
    scores of the bundled corpus by `model` are on screen (they must be in the cache)."""
    out = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME, repr(time.time()), str(cache_dir), model],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])
