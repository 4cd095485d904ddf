"""Tagging speed, per core: the bundled corpus repeated to 100,000+ tokens (the tagger's
`fast` path against the path without it, side by side), and the same text made distinct
(each copy gets its own first line, so nothing repeats: spaCy's own speed), on one worker
and on two.

Per core means one process with one BLAS thread; the worker figure is the tagger's own
process pool, started (and warmed) before it is timed.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from corpora import Document
from taggers.rules import load_rules
from taggers.tagger import TaskTagger

TOKENS = 100_000


def tagging_inputs(
    docs: list[Document], tokenizer: Any, distinct: bool, tokens: int = TOKENS
) -> tuple[list[str], list[np.ndarray]]:
    """The documents' texts and target spans (the model's tokens), repeated to `tokens`;
    with `distinct`, each copy starts with its own line, so no two documents are equal."""
    texts = [d.text for d in docs if d.text]
    reps = 1
    while True:
        out = [
            (f"Copy {r} of document {i}.\n" if distinct else "") + t
            for r in range(reps)
            for i, t in enumerate(texts)
        ]
        enc = tokenizer(out, add_special_tokens=False, return_offsets_mapping=True)
        spans = [np.asarray(o, dtype=np.int64).reshape(-1, 2) for o in enc["offset_mapping"]]
        if sum(len(s) for s in spans) >= tokens:
            if reps > 1:
                return out, spans
            kept = int(np.searchsorted(np.cumsum([len(s) for s in spans]), tokens)) + 1
            return out[:kept], spans[:kept]  # fewer than all documents once: a quick check
        reps = -(-tokens * reps // max(1, sum(len(s) for s in spans)))


def _seconds(
    tagger: TaskTagger, texts: list[str], spans: list[np.ndarray], workers: int = 1
) -> float:
    started = time.perf_counter()
    tagger.tag(texts, spans, workers, min_chars=0)
    return time.perf_counter() - started


def measure_tagging(docs: list[Document], tokenizer: Any, tokens: int = TOKENS) -> dict[str, Any]:
    """Tokens/s per core of the tagger and of the path it replaced, and two workers' speed-up,
    measured in a fresh process with one BLAS thread (numpy reads that only at start-up)."""
    import json
    import pickle
    import subprocess
    import sys
    import tempfile

    inputs = {
        "repeated": tagging_inputs(docs, tokenizer, distinct=False, tokens=tokens),
        "distinct": tagging_inputs(docs, tokenizer, distinct=True, tokens=tokens),
    }
    with tempfile.NamedTemporaryFile(suffix=".pickle") as f:
        pickle.dump(inputs, f)
        f.flush()
        env = {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        out = subprocess.run(
            [sys.executable, "-m", "inspector.bench.tagging", f.name],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _measure(inputs: dict[str, tuple[list[str], list[np.ndarray]]]) -> dict[str, Any]:
    rules = load_rules()
    fast, plain = TaskTagger(rules), TaskTagger(rules, fast=False)
    texts, spans = inputs["repeated"]
    n = sum(len(s) for s in spans)
    fast.tag(texts[:2], spans[:2])  # spaCy loaded
    plain.tag(texts[:2], spans[:2])
    same = fast.tag(texts, spans) == plain.tag(texts, spans)
    t_fast, t_plain = _seconds(fast, texts, spans), _seconds(plain, texts, spans)
    d_texts, d_spans = inputs["distinct"]
    d_n = sum(len(s) for s in d_spans)
    fast.tag(d_texts[:8], d_spans[:8], 2, min_chars=0)  # the two workers started, spaCy loaded
    one, two = _seconds(fast, d_texts, d_spans), _seconds(fast, d_texts, d_spans, 2)
    cores = min(16, os.cpu_count() or 1)  # every core, as tag_workers_of's default
    if cores > 2:
        fast.tag(d_texts[: 4 * cores], d_spans[: 4 * cores], cores, min_chars=0)  # started
    every = _seconds(fast, d_texts, d_spans, cores) if cores > 2 else two if cores == 2 else one
    return {
        "tagging_tokens": n,
        "tagging_tok_s": n / t_fast,
        "tagging_before_tok_s": n / t_plain,
        "tagging_vs_before": t_plain / t_fast,
        "tagging_same_tags": same,
        "tagging_distinct_tokens": d_n,
        "tagging_distinct_tok_s": d_n / one,
        "tagging_distinct_2_workers_tok_s": d_n / two,
        "tagging_2_workers_vs_1": one / two,
        "tagging_all_workers": cores,
        "tagging_distinct_all_workers_tok_s": d_n / every,
    }


if __name__ == "__main__":
    import json
    import pickle
    import sys

    with open(sys.argv[1], "rb") as f:
        print(json.dumps(_measure(pickle.load(f))))
