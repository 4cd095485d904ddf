"""Comparing runs at scale: runs of N tokens (default 1,000,000) written as Parquet parts, as
`score --parts` writes them (sealed settings, a manifest), then read back as any stored run
is (every check of `open_table`) and compared from the files in a fresh process: the seconds and
peak memory of `compare_runs` with its per-task table, by position (two runs of one
tokenizer) and by word (the same text cut into pieces by another tokenizer).

The runs are synthetic (no model is needed): documents of about 1,000 tokens of words of 1-8
characters, each with its leading space, cut into one or two pieces at a random place; losses,
ranks and entropies drawn at random, the second run's losses the first's plus noise.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from inspector import __version__
from inspector.defaults import TOP_K
from inspector.errors import InspectorError, message
from inspector.run.cache import TABLE_FORMAT
from inspector.run.manifests import run_key
from inspector.tables.schema import write_table

TOKENS = 1_000_000
WORDS_PER_DOC = 650  # about 1,000 pieces at 1.5 pieces a word
PART_ROWS = 250_000
WINDOW = 1024  # every document fits one window: each target sees its whole document
TASKS = ("grammar", "world_knowledge", "punctuation", "arbitrary", "whitespace")


def _words(n_words: int, seed: int) -> pl.DataFrame:
    """The text's words: document, span (after its leading space), task."""
    rng = np.random.default_rng(seed)
    length = rng.integers(1, 9, n_words)
    doc = np.arange(n_words) // WORDS_PER_DOC
    width = length + 1  # the leading space
    end_in_doc = pl.Series(width).cum_sum().to_numpy()
    doc_start = np.repeat(end_in_doc[::WORDS_PER_DOC] - width[::WORDS_PER_DOC], WORDS_PER_DOC)
    end = end_in_doc - doc_start[:n_words]
    return pl.DataFrame(
        {
            "doc": doc,
            "word_start": end - length,
            "word_end": end,
            "task": np.asarray(TASKS)[rng.integers(0, len(TASKS), n_words)],
        }
    )


def _pieces(words: pl.DataFrame, seed: int) -> pl.DataFrame:
    """One tokenizer's cut of the words: one piece, or two cut at a random place."""
    rng = np.random.default_rng(seed)
    n = words.height
    length = (words["word_end"] - words["word_start"]).to_numpy()
    cut = rng.integers(1, np.maximum(length, 1) + 1)  # the first piece: space + `cut` chars
    two = (length >= 2) & (rng.random(n) < 0.5) & (cut < length)
    start = words["word_start"].to_numpy() - 1
    first = pl.DataFrame({"w": np.arange(n), "char_start": start,
                          "char_end": np.where(two, start + 1 + cut, words["word_end"].to_numpy())})  # fmt: skip
    second = pl.DataFrame({"w": np.arange(n)[two], "char_start": (start + 1 + cut)[two],
                           "char_end": words["word_end"].to_numpy()[two]})  # fmt: skip
    pieces = pl.concat([first, second]).sort("w", "char_start")
    return pieces.join(words.with_row_index("w").cast({"w": pl.Int64}), on="w", how="left")


def _table(pieces: pl.DataFrame, seed: int, base: pl.DataFrame | None) -> pl.DataFrame:
    """A token table of `pieces`: random scores, or `base`'s losses plus noise."""
    rng = np.random.default_rng(seed)
    n = pieces.height
    nll = rng.gamma(1.2, 2.0, n) if base is None else np.abs(base["nll"].to_numpy() + rng.normal(0, 0.7, n))  # fmt: skip
    tops = rng.integers(0, 49_152, (n, TOP_K))
    widths = (pieces["char_end"] - pieces["char_start"]).to_numpy()
    return pieces.select(
        pl.format("doc-{}", pl.col("doc")).alias("doc_id"),
        pl.int_range(pl.len()).over("doc").cast(pl.Int64).alias("pos"),
        pl.Series("token_id", rng.integers(0, 49_152, n)),
        pl.Series("token", [" " + "x" * (w - 1) for w in widths]),
        "char_start", "char_end",
        pl.Series("nll", nll), pl.Series("prob", np.exp(-nll)),
        pl.Series("rank", rng.integers(1, 2000, n)), pl.Series("entropy", rng.gamma(2.0, 1.5, n)),
        pl.Series("top_ids", tops).cast(pl.List(pl.Int64)),
        pl.Series("top_probs", rng.random((n, TOP_K), dtype=np.float32)).cast(pl.List(pl.Float32)),
        pl.format("w{}", pl.col("w")).alias("word"), "word_start", "word_end",
        (pl.col("w") != pl.col("w").shift()).fill_null(True).alias("word_initial"),
        "task", pl.lit("bench").alias("task_reason"),
    )  # fmt: skip


def run_settings(name: str, documents: int, tokens: int) -> dict[str, Any]:
    """The settings of synthetic run `name` (a part of it: `documents`, `tokens`), the fields
    a scored run has, each true of these tables: no model made them, so the model is named
    as synthetic, and its token count is the part's rows."""
    return {
        "inspector_version": __version__,
        "table_format": TABLE_FORMAT,
        "model": f"bench-{name}",
        "model_spec": f"synthetic:{name}",
        "model_kind": "synthetic",
        "model_identity": f"bench:{name}",
        "n_params": 1_000 * (1 + "abc".index(name)),
        "device": "cpu",
        "dtype": "float32",
        "context_length": WINDOW,
        "window": WINDOW,
        "stride": WINDOW // 2,
        "top_k": TOP_K,
        "corpus_hash": "bench-synthetic",
        "documents": documents,
        "tokens": tokens,
        "tagger_rules": "synthetic (tasks drawn at random)",
    }


def write_parts(folder: Path, name: str, table: pl.DataFrame) -> None:
    """`table` as `score --parts` leaves a run: parts of whole documents, about `PART_ROWS`
    rows each, written (and sealed) by the table writer with their own settings, listed in
    the folder's manifest."""
    folder.mkdir()
    ends = (
        table.with_row_index("row")
        .group_by("doc_id", maintain_order=True)
        .agg(pl.col("row").max() + 1)["row"]
        .to_list()
    )
    entries, start, k = [], 0, 0
    for end in ends:
        if end - start < PART_ROWS and end != ends[-1]:
            continue
        part = table.slice(start, end - start)
        docs = part["doc_id"].n_unique()
        path = folder / f"part-s0of1-{k:05d}.parquet"
        settings = {**run_settings(name, docs, part.height), "part": k, "shard": "0/1"}
        write_table(part, path, settings)
        entries.append({"file": path.name, "ids_hash": f"bench-{k}", "docs": docs,
                        "tokens": part.height})  # fmt: skip
        start, k = end, k + 1
    manifest = {"settings": run_key(run_settings(name, 0, 0)), "part_chars": None,
                "parts": entries}  # fmt: skip
    (folder / "manifest-s0of1.json").write_text(json.dumps(manifest, indent=1))


def write_runs(folder: Path, tokens: int) -> dict[str, Path]:
    """Three runs as parts folders: `a` and `b` of one tokenizer, `c` of another."""
    words = _words(max(1, int(tokens / 1.5)), seed=1)
    cut_ab = _pieces(words, seed=2)
    words = _words(int(words.height * tokens / cut_ab.height) + 1, seed=1)  # about `tokens`
    cut_ab, cut_c = _pieces(words, seed=2), _pieces(words, seed=3)
    a = _table(cut_ab, seed=4, base=None)
    runs = {
        "a": a,
        "b": _table(cut_ab, 5, a).with_columns(a["token_id"]),
        "c": _table(cut_c, 6, None),
    }
    out = {}
    for name, table in runs.items():
        write_parts(folder / name, name, table)
        out[name] = folder / name
    return out


def _measure(first: str, second: str, unit: str) -> dict[str, Any]:
    """In this (fresh) process: compare two stored runs, time it and take peak memory."""
    from inspector.run.stored import open_table
    from inspector.tables.changes import compare_runs

    # the text of each unit is joined only when shown or written; here, as it is compared
    before = _peak_mb()
    started = time.perf_counter()
    comparison = compare_runs([open_table(first), open_table(second)], unit)
    table = comparison.changes()
    seconds = time.perf_counter() - started
    peak = _peak_mb()
    return {
        "unit": comparison.aligned.unit,
        "units": comparison.units.height,
        "seconds": seconds,
        "peak_mb": peak,
        "before_mb": before,
        "all_delta": table.filter(pl.col("task") == "all")["delta_mean_nll"][0],
    }


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike getrusage's maxrss it is not
    inherited from the process that started this one)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: KiB? close


def measure_compare(tokens: int = TOKENS) -> dict[str, Any]:
    """Both comparisons, each in its own fresh process (peak memory is per process)."""
    with tempfile.TemporaryDirectory() as tmp:
        made = time.perf_counter()
        runs = write_runs(Path(tmp), tokens)
        made = time.perf_counter() - made
        counts = {k: pl.scan_parquet(v / "*.parquet").select(pl.len()).collect().item() for k, v in runs.items()}  # fmt: skip
        results = {"tokens": counts, "write_seconds": made}
        for key, (x, y, unit) in {
            "position": ("a", "b", "token"),
            "word": ("a", "c", "word"),
        }.items():
            child = subprocess.run(
                [sys.executable, "-m", "inspector.bench.compare", str(runs[x]), str(runs[y]), unit],
                capture_output=True, text=True, env={**os.environ},
            )  # fmt: skip
            if child.returncode != 0:  # its last line is the error (a traceback ends with it)
                last = (child.stderr.strip().splitlines() or ["no output"])[-1]
                raise InspectorError(
                    message("bench_child_failed", what=f"comparing by {unit}", last=last)
                )
            results[key] = json.loads(child.stdout.strip().splitlines()[-1])
    return results


def format_compare(r: dict[str, Any]) -> str:
    t = r["tokens"]
    lines = [
        f"comparing runs from Parquet parts (synthetic: {t['a']:,} and {t['b']:,} tokens of one "
        f"tokenizer, {t['c']:,} of another; written in {r['write_seconds']:.1f} s)",
        f"{'alignment':<10} {'units':>10} {'seconds':>8} {'peak MB':>8} {'of it before':>13}",
    ]
    for key in ("position", "word"):
        m = r[key]
        lines.append(
            f"{key:<10} {m['units']:>10,} {m['seconds']:>8.2f} {m['peak_mb']:>8.0f} "
            f"{m['before_mb']:>13.0f}"
        )
    lines.append("(peak MB: the comparing process's peak resident memory; before: after imports)")
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps(_measure(sys.argv[1], sys.argv[2], sys.argv[3])))
