"""`inspector bench --lengths`: how the cost of a token grows with the document's length, and
what a longer stride (less recomputed context) does to speed and to the numbers.

A document longer than the window is scored in rolling windows (`lm/windows.py`): each later
window recomputes `window - stride` tokens of context for `stride` new targets, so a token
costs about `window / stride` forward positions. Two measures, side by side in one process:

- speed: one document of 1k to 16k tokens (the licences of /usr/share/common-licenses run
  together, or the bundled prose repeated), scoring only (token ids in, loss, rank,
  entropy, top-k out), at each stride: tokens/s and forward positions per token;
- numbers: the bundled corpus repeated into one long document, scored and tagged end to end
  at each stride: loss per task against the stride of half a window.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from corpora import Document, bundled_path, read_corpus
from inspector.bench.peers import licence_texts
from inspector.lm.batching import Tokenized
from inspector.lm.config import ScoreConfig
from inspector.lm.loading import LoadedModel, load_model
from inspector.lm.scorer import Scorer
from inspector.lm.windows import rolling_windows
from inspector.run.score import score_corpus

LENGTHS = (1024, 2048, 4096, 8192, 16384)  # the longest can be chosen (--tokens): halved 4 times
STRIDE_SHARES = ((1, 2), (3, 4), (7, 8))  # stride = window * a / b; 1/2 is the default
REPEATS = 6  # the bundled corpus (3,447 tokens) in one document of about 20,000


def lengths(longest: int | None) -> list[int]:
    """The document lengths measured: `LENGTHS`, or `longest` halved four times."""
    if longest is None:
        return list(LENGTHS)
    return sorted({max(1, longest >> i) for i in range(len(LENGTHS))})


def strides(window: int) -> list[int]:
    return [window * a // b for a, b in STRIDE_SHARES]


def positions_per_token(n: int, window: int, stride: int) -> float:
    """Forward positions computed per target: 1.0 when nothing is recomputed."""
    return sum(w.end - w.start for w in rolling_windows(n, window, stride)) / n


def _long_ids(lm: LoadedModel, n: int) -> tuple[np.ndarray, str]:
    texts, origin = licence_texts()
    text = "\n\n".join(texts)
    while len(ids := lm.tokenizer(text, add_special_tokens=False)["input_ids"]) < n:
        text = text + "\n\n" + text
    return np.asarray(ids[:n], dtype=np.int64), origin


def measure_speed(
    lm: LoadedModel, window: int, sizes: list[int] | None = None
) -> tuple[list[dict[str, Any]], str]:
    """Tokens/s of scoring one document of each length (`LENGTHS`), at each stride."""
    sizes = sizes or list(LENGTHS)
    ids, origin = _long_ids(lm, max(sizes))
    rows = []
    for stride in strides(window):
        scorer = Scorer(lm, ScoreConfig(window=window, stride=stride))
        warm = min(len(ids), window)
        scorer.score_tokenized([Tokenized(ids[:warm], np.zeros((warm, 2), np.int64))])  # warm-up
        for n in sizes:
            doc = Tokenized(ids[:n], np.zeros((n, 2), np.int64))
            started = time.perf_counter()
            scorer.score_tokenized([doc])
            seconds = time.perf_counter() - started
            rows.append(
                {
                    "tokens": n,
                    "stride": stride,
                    "min_context": min(n, window - stride + 1),
                    "positions_per_token": positions_per_token(n, window, stride),
                    "tok_s": n / seconds,
                }
            )
    return rows, origin


def measure_numbers(lm: LoadedModel, window: int, tokens: int | None = None) -> dict[str, Any]:
    """Loss per task of the bundled corpus as one long document (its first `tokens` tokens
    where given), at each stride."""
    docs = read_corpus([bundled_path()])
    text = "\n\n".join(d.text for d in docs * REPEATS)
    if tokens is not None:
        spans = lm.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        cut = spans["offset_mapping"][: max(1, tokens)][-1][1]
        text = text[:cut]
    long_doc = Document("bundled-repeated", text)
    by_stride: dict[int, pl.DataFrame] = {}
    for stride in strides(window):
        table = score_corpus([long_doc], lm, ScoreConfig(window=window, stride=stride)).table
        by_stride[stride] = table.select("pos", "task", "nll")
    base_stride = strides(window)[0]
    base = by_stride[base_stride]
    rows = []
    for stride, table in by_stride.items():
        # only targets after the first window differ; all the document's targets are counted
        joined = base.join(table, on="pos", suffix="_s")
        for task, part in sorted(joined.group_by("task"), key=lambda kv: str(kv[0])):
            rows.append(_task_row(str(task[0]), stride, part))
        rows.append(_task_row("all", stride, joined))
    return {
        "tokens": base.height,
        "window": window,
        "base_stride": base_stride,
        "rows": rows,
    }


def _task_row(task: str, stride: int, part: pl.DataFrame) -> dict[str, Any]:
    diff = part["nll_s"] - part["nll"]
    return {
        "task": task,
        "stride": stride,
        "targets": part.height,
        "nll": float(part["nll_s"].mean()),  # type: ignore[arg-type]
        "change": float(diff.mean()),  # type: ignore[arg-type]
        "mean_abs_change": float(diff.abs().mean()),  # type: ignore[arg-type]
    }


def measure_lengths(
    model: str, cache_dir: Path, window: int | None, tokens: int | None = None
) -> dict[str, Any]:
    """Both measures; `tokens`: the longest document and the numbers' document that many
    tokens (not 16,384 and about 20,000)."""
    lm = load_model(model, cache_dir, "cpu")
    w = ScoreConfig(window=window).resolved(lm.context_length).window
    assert w is not None
    speed, origin = measure_speed(lm, w, lengths(tokens))
    return {
        "model": lm.source.name,
        "window": w,
        "text": origin,
        "speed": speed,
        "numbers": measure_numbers(lm, w, tokens),
    }


def format_lengths(r: dict[str, Any]) -> str:
    w = r["window"]
    lines = [
        f"inspector bench --lengths: {r['model']}, window {w}, CPU; one document of {r['text']}",
        f"{'tokens':>7} " + " ".join(f"{'stride ' + str(s):>24}" for s in strides(w)),
    ]
    for n in dict.fromkeys(x["tokens"] for x in r["speed"]):
        cells = [x for x in r["speed"] if x["tokens"] == n]
        lines.append(
            f"{n:>7,} "
            + " ".join(
                f"{x['tok_s']:>9,.0f} tok/s {x['positions_per_token']:>4.2f}x ctx>={x['min_context']:<4}"
                for x in cells
            )
        )
    num = r["numbers"]
    lines += [
        "(x: forward positions per token; ctx>=: the fewest tokens a target is predicted from)",
        f"numbers: the bundled corpus as one document of {num['tokens']:,} tokens, loss per "
        f"task at each stride, change from stride {num['base_stride']} (mean; mean |change|)",
    ]
    for task in dict.fromkeys(x["task"] for x in num["rows"]):
        cells = [x for x in num["rows"] if x["task"] == task]
        lines.append(
            f"  {task:<16} {cells[0]['targets']:>6,} "
            + " ".join(
                f"s{x['stride']}: {x['nll']:.4f} ({x['change']:+.4f}; {x['mean_abs_change']:.4f})"
                for x in cells
            )
        )
    return "\n".join(lines)
