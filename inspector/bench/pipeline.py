"""`inspector bench`: how fast scoring is, measured side by side on the same text.

Three ways over the bundled corpus, in one process, on the same batches:
- end to end: inspector's pipeline without its cache (tokenize, window, batch, score,
  build the token table, tag every target with spaCy and the rules);
- forward: the model's plain forward pass (full logits) on the same batches, nothing else;
- naive: one document at a time, float32 full softmax, rank found by sorting the vocabulary.
The same again on 64 sentences of the bundled prose, one document each, where batching
matters most. Also the embedded model's load time cold (GGUF conversion into an empty cache) and warm,
`inspector --help` time, and peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from corpora import Document, bundled_path, read_corpus
from inspector.bench.tagging import measure_tagging
from inspector.files import default_cache_dir, ensure_dir
from inspector.lm.config import ScoreConfig
from inspector.lm.loading import LoadedModel, load_model
from inspector.run.score import score_corpus
from inspector.run.tokens import TableScorer

REPEATS = 2  # end-to-end and forward alternate this many times; the best of each is kept
LONG_DOC_TOKENS = 200_000  # the app's long document
PRESSES = 300  # keys pressed in the app, each document
QUICK_PRESSES = 20  # with --tokens (a quick check)


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def forward_only(scorer: TableScorer, tokenized: list[Any]) -> None:
    """The model's plain forward pass over the scorer's own batches: the speed ceiling."""
    import torch

    with torch.inference_mode():
        for batch in scorer.batches(tokenized):
            ids, mask = scorer.batch_inputs(batch, tokenized)
            del mask  # right padding, causal attention: as the scorer, no mask is needed
            logits = scorer.lm.model(input_ids=ids, use_cache=False).logits
            del logits  # (batch, time, vocab): computed, as a plain forward pass does, then dropped


def naive_loop(lm: LoadedModel, tokenized: list[Any], k: int) -> None:
    """What a notebook does: one document at a time, full softmax, rank by sorting."""
    import torch

    with torch.inference_mode():
        for t in tokenized:
            ids = torch.tensor([[lm.prefix_id, *t.ids.tolist()]], device=lm.device)[
                :, :-1
            ]  # (1, time)
            logits = lm.model(input_ids=ids).logits[0].float()  # (time, vocab)
            probs = torch.softmax(logits, dim=-1)
            targets = torch.from_numpy(t.ids).to(lm.device)
            order = torch.argsort(logits, dim=-1, descending=True)  # (time, vocab)
            rank = (order == targets[:, None]).nonzero()[:, 1] + 1
            nll = -torch.log(probs.gather(1, targets[:, None]))
            entropy = -(probs * torch.log(probs.clamp_min(1e-45))).sum(-1)
            top_ids, top_probs = order[:, :k], probs.gather(1, order[:, :k])
            _ = (
                rank.tolist(),
                nll.tolist(),
                entropy.tolist(),
                top_ids.tolist(),
                top_probs.tolist(),
            )


def help_seconds() -> float:
    """Wall time of `inspector --help` in a fresh interpreter."""
    return _timed(
        lambda: subprocess.run(
            [sys.executable, "-m", "inspector", "--help"], check=True, capture_output=True
        )
    )


def sentence_corpus(docs: list[Document], n: int = 64) -> list[Document]:
    """The first `n` sentences of the bundled prose, one document each: a short-text workload."""
    sentences = [
        part
        for d in docs
        if d.id.startswith("prose/")
        for part in re.split(r"(?<=[.!?])\s+", d.text)
        if len(part.split()) >= 5
    ]
    return [Document(f"sentence-{i}", text) for i, text in enumerate(sentences[:n])]


def first_tokens(lm: LoadedModel, docs: list[Document], tokens: int) -> list[Document]:
    """The first documents of `docs` that hold about `tokens` tokens (at least one)."""
    kept: list[Document] = []
    total = 0
    for d in docs:
        if kept and total >= tokens:
            break
        kept.append(d)
        total += len(lm.tokenizer(d.text, add_special_tokens=False)["input_ids"])
    return kept


def measure_workload(lm: LoadedModel, docs: list[Document], config: ScoreConfig) -> dict[str, Any]:
    """End to end, forward only and naive, side by side on the same documents and batches."""
    scorer = TableScorer(lm, config)
    tokenized = scorer.tokenize([d.text for d in docs])
    n_tokens = sum(len(t.ids) for t in tokenized)
    e2e, fwd, tag_share = [], [], []
    for _ in range(REPEATS):
        result = score_corpus(docs, lm, config)  # no cache: score and tag everything
        e2e.append(result.seconds)
        tag_share.append(result.timings["tag_s"] / result.seconds)
        fwd.append(_timed(lambda: forward_only(scorer, tokenized)))
    naive = _timed(lambda: naive_loop(lm, tokenized, scorer.config.top_k))
    figures = {
        "documents": len(docs),
        "tokens": n_tokens,
        "batches": len(scorer.batches(tokenized)),
        "end_to_end_tok_s": n_tokens / min(e2e),
        "forward_tok_s": n_tokens / min(fwd),
        "naive_tok_s": n_tokens / naive,
        "tagging_share": tag_share[e2e.index(min(e2e))],
    }
    figures["end_to_end_vs_forward"] = figures["end_to_end_tok_s"] / figures["forward_tok_s"]
    figures["end_to_end_vs_naive"] = figures["end_to_end_tok_s"] / figures["naive_tok_s"]
    return figures


def measure_app(
    lm: LoadedModel, docs: list[Document], config: ScoreConfig, cache_dir: Path,
    long_tokens: int = LONG_DOC_TOKENS, presses: int = PRESSES,
) -> dict[str, Any]:  # fmt: skip
    """First frame and key latency of the app (its module is the only one importing textual),
    stepping `presses` keys through the longest document and one of `long_tokens` targets."""
    from inspector.bench import app as tui
    from inspector.run.cache import request_key
    from taggers.rules import load_rules

    rules = load_rules()
    key = request_key(lm.source.identity, "auto", "auto", ScoreConfig(), rules, docs)
    table = score_corpus(docs, lm, ScoreConfig(), cache_dir, rules=rules, request=key).table
    figures = {f"tui_{k}": v for k, v in tui.first_frame(cache_dir, lm.source.spec).items()}
    prose = max(docs, key=lambda d: len(d.text))
    short = tui.key_latency([prose], table.filter(pl.col("doc_id") == prose.id), cache_dir, presses)
    long_doc, long_table = tui.tiled_document(docs, table, long_tokens)
    long = tui.key_latency([long_doc], long_table, cache_dir, presses)
    figures.update(
        {
            "tui_key_p50_ms": short["p50_ms"],
            "tui_key_p95_ms": short["p95_ms"],
            "tui_long_doc_tokens": long_table.height,
            "tui_long_key_p50_ms": long["p50_ms"],
            "tui_long_key_p95_ms": long["p95_ms"],
        }
    )
    return figures


def measure(
    model: str, device: str, batch_tokens: int | None, cache_dir: Path, tokens: int | None = None
) -> dict[str, Any]:
    """Every figure of the report; `tokens` makes it a quick check: the tagging text and the
    app's long document that many tokens (not 100,000 and 200,000), 20 key presses, not 300."""
    results: dict[str, Any] = {}
    if model in ("", "embedded") or model.endswith(".gguf"):
        with tempfile.TemporaryDirectory(prefix="inspector-bench-") as tmp:
            cold = load_model(model, Path(tmp), device)
            results["load_cold_s"] = cold.load_seconds
            del cold
            warm = load_model(model, Path(tmp), device)
            results["load_warm_s"] = warm.load_seconds
    lm = load_model(model, cache_dir, device)
    results.setdefault("load_cold_s", None)
    results.setdefault("load_warm_s", lm.load_seconds)
    results.update(
        {
            "model": lm.source.name,
            "device": lm.device.type,
            "dtype": str(lm.dtype).removeprefix("torch."),
        }
    )

    docs = read_corpus([bundled_path()])
    config = ScoreConfig(batch_tokens=batch_tokens)
    score_corpus(docs[:2], lm, config)  # warm-up: kernels picked, spaCy loaded
    timed = docs if tokens is None else first_tokens(lm, docs, tokens)
    results.update(measure_workload(lm, timed, config))
    short = measure_workload(lm, sentence_corpus(docs, 64 if tokens is None else 16), config)
    results.update({f"sentences_{k}": v for k, v in short.items()})
    if tokens is None:
        results.update(measure_tagging(docs, lm.tokenizer))
        results.update(measure_app(lm, docs, config, cache_dir))
    else:
        results.update(measure_tagging(docs, lm.tokenizer, tokens))
        results.update(measure_app(lm, docs, config, cache_dir, tokens, QUICK_PRESSES))
    results["help_s"] = help_seconds()
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def format_report(r: dict[str, Any]) -> str:
    def s(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.2f} s"

    def block(title: str, p: str) -> list[str]:
        return [
            f"{title}: {r[p + 'documents']} documents, {r[p + 'tokens']:,} tokens, {r[p + 'batches']} batches",
            f"  end to end     {r[p + 'end_to_end_tok_s']:8.1f} tokens/s   "
            f"({r[p + 'end_to_end_vs_forward']:.0%} of forward, {r[p + 'end_to_end_vs_naive']:.2f}x naive)",
            f"  tagging        {r[p + 'tagging_share']:8.1%} of end to end (spaCy + rules)",
            f"  forward only   {r[p + 'forward_tok_s']:8.1f} tokens/s   (same batches, logits only)",
            f"  naive loop     {r[p + 'naive_tok_s']:8.1f} tokens/s   (one document at a time, softmax + sort)",
        ]

    return "\n".join(
        [
            f"inspector bench: {r['model']} on {r['device']} ({r['dtype']})",
            *block("bundled corpus", ""),
            *block(f"{r['sentences_documents']} sentences of it, one document each", "sentences_"),
            f"app: first frame {r['tui_first_frame_s']:.2f} s, cached scores on screen "
            f"{r['tui_scores_shown_s']:.2f} s (fresh process); key to screen p50 "
            f"{r['tui_key_p50_ms']:.1f} ms, p95 {r['tui_key_p95_ms']:.1f} ms; on a "
            f"{r['tui_long_doc_tokens']:,}-token document p50 {r['tui_long_key_p50_ms']:.1f} ms, "
            f"p95 {r['tui_long_key_p95_ms']:.1f} ms",
            f"tagging (per core, {r['tagging_tokens']:,} tokens: the bundled corpus repeated): "
            f"{r['tagging_tok_s']:,.0f} tokens/s, {r['tagging_vs_before']:.1f}x the tagger without "
            f"deduplication and lazy lemmas ({r['tagging_before_tok_s']:,.0f} tokens/s), tags "
            f"{'identical' if r['tagging_same_tags'] else 'DIFFERENT'}",
            f"tagging distinct text ({r['tagging_distinct_tokens']:,} tokens, nothing repeated): "
            f"{r['tagging_distinct_tok_s']:,.0f} tokens/s per core; 2 workers "
            f"{r['tagging_distinct_2_workers_tok_s']:,.0f} tokens/s, {r['tagging_2_workers_vs_1']:.2f}x; "
            f"all {r['tagging_all_workers']} cores {r['tagging_distinct_all_workers_tok_s']:,.0f} tokens/s",
            f"load cold {s(r['load_cold_s'])}, warm {s(r['load_warm_s'])}; "
            f"inspector --help {r['help_s']:.2f} s; peak memory {r['peak_rss_mb']:,.0f} MB",
        ]
    )


def run_bench(args: argparse.Namespace) -> int:
    cache_dir = ensure_dir(args.cache_dir or default_cache_dir())
    results = measure(args.model, args.device, args.batch_tokens, cache_dir, args.tokens)
    print(json.dumps(results) if args.json else format_report(results))
    return 0
