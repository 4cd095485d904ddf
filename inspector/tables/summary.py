"""What a person reads after scoring: what was scored, by what, and how well, in a few lines."""

from __future__ import annotations

import math
from typing import Any

from inspector import visible


def count(n: int, noun: str) -> str:
    """`1 document`, `3,692 tokens`."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _windowed(table: Any, settings: dict[str, Any]) -> str:
    """What rolling windows did, when a document was longer than one: how many targets were
    scored after a first window, and the fewest tokens any of them was predicted from."""
    import polars as pl

    if "ctx_len" not in table.columns or not table.height:
        return ""
    later = table.filter(pl.col("pos") >= settings["window"])
    if not later.height:
        return ""
    fewest = int(later["ctx_len"].min())  # type: ignore[arg-type]
    return f"; {count(later.height, 'target')} after a first window, each from at least {fewest} tokens"


def run_summary(
    table: Any,
    settings: dict[str, Any],
    seconds: float,
    from_cache: bool,
    timings: dict[str, float] | None = None,
) -> str:
    """A few lines a person reads after scoring: what was scored, by what, and how well."""
    import polars as pl  # here, not at the top: `count` is used by `inspector --help`'s modules

    n = table.height
    s = table.select(
        pl.col("nll").mean().alias("nll"),
        (pl.col("rank") == 1).mean().alias("top1"),
        (pl.col("rank") <= settings["top_k"]).mean().alias("topk"),
        pl.col("entropy").mean().alias("entropy"),
    ).row(0, named=True)
    timings = timings or {}
    if from_cache:
        how = "from cache"
    elif not timings.get("score_s") and timings.get("tag_s"):  # only the tags were computed
        how = f"scores from cache; tagged again in {timings['tag_s']:.1f} s"
    else:
        how = f"{n / seconds:,.0f} tokens/s" if seconds > 0 else ""
    lines = [
        f"corpus   {count(settings['documents'], 'document')}, {count(n, 'token')} "
        f"(corpus hash {str(settings.get('corpus_hash')).split(':')[-1][:8]})",
        f"model    {visible.line(settings['model'])}  ({settings['n_params'] / 1e6:,.0f}M parameters, {settings['device']}, {settings['dtype']})",
        f"windows  {settings['window']} tokens, stride {settings['stride']}; document start {settings['prefix_token']!r} ({settings['prefix_kind']})"
        + _windowed(table, settings),
        f"rules    {visible.line(settings.get('tagger_rules', '?'))} "
        f"(hash {str(settings.get('tagger_rules_hash'))[:8]})",
        f"loss     {s['nll']:.3f} nats/token = {s['nll'] / math.log(2):.3f} bits, perplexity {math.exp(s['nll']):,.1f}",
        f"rank     top-1 {s['top1']:.1%}, top-{settings['top_k']} {s['topk']:.1%}; mean entropy {s['entropy']:.3f} nats",
        f"time     {seconds:.1f} s ({how})",
    ]
    if n and "task" in table.columns:
        from inspector.tables.tasks import summarize

        tasks = summarize(table.lazy(), "task")
        every = tasks.row(tasks.height - 1, named=True)  # the closing `all` row
        lines.insert(-2, _across_tokenizers(every))
        lines.append("tasks    task               tokens  share  mean loss  share of loss"
                     "  bits/byte  nats/word  word exact")  # fmt: skip
        for row in tasks.iter_rows(named=True):
            if row["task"] == "all":
                continue
            lines.append(
                f"         {visible.line(row['task']):<16} {row['tokens']:>8,} {row['token_share']:6.1%} "
                f"{row['mean_nll']:10.3f} {row['loss_share']:14.1%}"
                f" {_or_dash(row['bits_per_byte'], '.3f'):>10} {_or_dash(row['nats_per_word'], '.3f'):>10}"
                f" {_or_dash(row['word_exact_match'], '.1%'):>11}"
            )
    hardest = table.sort("nll", descending=True).head(5)
    if hardest.height:
        lines.append(
            "hardest  "
            + ", ".join(
                f"{t!r} {v:.1f}" for t, v in zip(hardest["token"], hardest["nll"], strict=True)
            )
        )
    return "\n".join(lines)


def _exp(x: float) -> str:
    """A perplexity e^x as people read it; past what a float holds, as the power."""
    return f"{math.exp(x):,.1f}" if x < 700 else f"e^{x:,.0f}"


def _or_dash(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _across_tokenizers(every: dict[str, Any]) -> str:
    """The loss in units that do not depend on the tokenizer, as lm-eval reports them."""
    if every["bytes"] is None or not every["bytes"]:
        return "bytes    - (the table lacks the token text: no bits per byte or nats per word)"
    bpb = every["bits_per_byte"]
    words = every["words"] or 0
    per_word = every["nats_per_word"]
    word = (f"\nwords    {per_word:.3f} nats/word over {count(words, 'spaCy word')} (word "
            f"perplexity {_exp(per_word)}); exact match {every['word_exact_match']:.1%}"
            if per_word is not None else "")  # fmt: skip
    byte_ppl = f"{2**bpb:.3f}" if bpb < 1000 else f"2^{bpb:,.0f}"
    return (f"bytes    {bpb:.4f} bits/byte over {every['bytes']:,} bytes (byte perplexity "
            f"{byte_ppl}){word}")  # fmt: skip
